/* Layouts: the built-in names, and custom layouts made of regions (in the
 * manner of Twilio Compositions), parsed and checked against the canvas.
 * The rules and examples are in docs/layouts.md. Messages name the field
 * path and never repeat a value of the document; an unknown key is named,
 * made printable and cut short. */
#include "compositor/compositor_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define N(table) (sizeof(table) / sizeof((table)[0]))
#define CANVAS_MAX 16384   /* bounds of a region when the canvas is not known */
#define Z_MAX 99           /* z: -Z_MAX..Z_MAX */
#define REGION_NAME_MAX 64 /* bytes */
#define LIST_MAX 64        /* entries of participants and exclude */
#define ENTRY_MAX 256      /* bytes of one entry */
#define STR_(x) #x
#define STR(x) STR_(x)
#define KEY_SHOWN_MAX 32   /* bytes of an unknown key quoted in a message */
#define PATH_MAX_LEN 256

static const struct builtin {
	const char *name;
	egw_layout_kind_t kind;
} builtins[] = {
	{"grid", EGW_LAYOUT_GRID},
	{"speaker", EGW_LAYOUT_SPEAKER},
	{"screenshare", EGW_LAYOUT_SCREENSHARE},
	{"single-speaker", EGW_LAYOUT_SINGLE_SPEAKER},
};

/* In the order of egw_reuse_t and egw_region_sources_t. */
static const char *const reuse_names[] = {"show_oldest", "show_newest", "none", NULL};
static const char *const sources_names[] = {"all", "camera", "screen", NULL};

static const char *const layout_keys[] = {"regions", NULL};
static const char *const region_keys[] = {
	"name", "x", "y", "width", "height", "z", "max_columns", "max_rows",
	"participants", "exclude", "reuse", "sources", NULL,
};

static const egw_json_field_t layout_fields[] = {
	{.name = "regions", .types = EGW_JSON_T_ARRAY, .flags = EGW_JSON_REQUIRED, .min = 1,
	 .max = EGW_LAYOUT_REGIONS_MAX},
};

/* Types only for the integers: their bounds depend on the canvas (int_in). */
static const egw_json_field_t region_fields[] = {
	{.name = "name", .types = EGW_JSON_T_STRING,
	 .flags = EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE, .max_len = REGION_NAME_MAX},
	{.name = "x", .types = EGW_JSON_T_INT},
	{.name = "y", .types = EGW_JSON_T_INT},
	{.name = "width", .types = EGW_JSON_T_INT},
	{.name = "height", .types = EGW_JSON_T_INT},
	{.name = "z", .types = EGW_JSON_T_INT},
	{.name = "max_columns", .types = EGW_JSON_T_INT},
	{.name = "max_rows", .types = EGW_JSON_T_INT},
	{.name = "participants", .types = EGW_JSON_T_ARRAY, .min = 1, .max = LIST_MAX},
	{.name = "exclude", .types = EGW_JSON_T_ARRAY, .min = 0, .max = LIST_MAX},
	{.name = "reuse", .types = EGW_JSON_T_STRING, .one_of = reuse_names},
	{.name = "sources", .types = EGW_JSON_T_STRING, .one_of = sources_names},
};

static egw_err_t invalid(char *errstr, size_t errstr_size, const char *path, const char *key,
			 const char *msg)
{
	egw_json_seterr(errstr, errstr_size, path, key, "%s", msg);
	return EGW_ERR_INVALID_REQUEST;
}

static int name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static egw_layout_t *layout_new(egw_layout_kind_t kind)
{
	egw_layout_t *l = calloc(1, sizeof(*l));
	if (l)
		l->kind = kind;
	return l;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

void egw_layout_free(egw_layout_t *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_regions; i++) {
		egw_region_t *r = &l->regions[i];
		free(r->name);
		free_list(r->participants, r->n_participants);
		free_list(r->exclude, r->n_exclude);
	}
	free(l->regions);
	free(l);
}

egw_layout_kind_t egw_layout_kind(const egw_layout_t *l)
{
	return l ? l->kind : EGW_LAYOUT_GRID;
}

const char *egw_layout_name(const egw_layout_t *l)
{
	egw_layout_kind_t kind = egw_layout_kind(l);

	for (size_t i = 0; i < N(builtins); i++)
		if (builtins[i].kind == kind)
			return builtins[i].name;
	return "custom";
}

/* key as it may appear in a message: printable ASCII, at most
 * KEY_SHOWN_MAX bytes (then "..."), quotes and backslashes replaced. */
static void show_key(const char *key, char *out, size_t out_size)
{
	size_t n = 0;

	for (; key[n] && n < KEY_SHOWN_MAX && n + 4 < out_size; n++) {
		unsigned char ch = (unsigned char)key[n];
		out[n] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	out[n] = '\0';
	if (key[n])
		strcat(out, "...");
}

/* Refuses the first key of obj that is not in known. */
static egw_err_t check_keys(const json_t *obj, const char *path, const char *const *known,
			    char *errstr, size_t errstr_size)
{
	const char *key;
	json_t *value;
	char shown[KEY_SHOWN_MAX + 8];

	json_object_foreach((json_t *)obj, key, value) {
		if (name_index(known, key) >= 0)
			continue;
		show_key(key, shown, sizeof(shown));
		return invalid(errstr, errstr_size, path, shown, "is not a known field");
	}
	return EGW_OK;
}

/* The integer key of obj (type already checked) in *out, def when absent. */
static egw_err_t int_in(const json_t *obj, const char *path, const char *key, int lo, int hi,
			int def, int *out, char *errstr, size_t errstr_size)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	*out = def;
	if (!v)
		return EGW_OK;
	i = json_integer_value(v);
	if (i < lo || i > hi) {
		egw_json_seterr(errstr, errstr_size, path, key,
				"must be an integer between %d and %d", lo, hi);
		return EGW_ERR_INVALID_REQUEST;
	}
	*out = (int)i;
	return EGW_OK;
}

/* Why v cannot be an entry of participants or exclude, or NULL. */
static const char *entry_problem(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!json_is_string(v))
		return "must be a string";
	if (!len)
		return "must not be empty";
	if (len > ENTRY_MAX)
		return "must be at most " STR(ENTRY_MAX) " bytes long";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "must not contain control characters";
	return NULL;
}

/* Copies the array of names at key (already checked to be an array of the
 * right size), each entry checked. */
static egw_err_t string_list(const json_t *obj, const char *path, const char *key, char ***out,
			     size_t *n_out, char *errstr, size_t errstr_size)
{
	json_t *arr = json_object_get(obj, key), *v;
	char lpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN];
	char **list;
	size_t i;

	if (!arr)
		return EGW_OK;
	egw_json_path_key(lpath, sizeof(lpath), path, key);
	list = calloc(json_array_size(arr) + 1, sizeof(*list));
	if (!list)
		return invalid(errstr, errstr_size, lpath, NULL, "out of memory");
	*out = list;
	json_array_foreach(arr, i, v) {
		const char *problem = entry_problem(v);
		if (problem) {
			egw_json_path_index(ipath, sizeof(ipath), lpath, i);
			return invalid(errstr, errstr_size, ipath, NULL, problem);
		}
		list[i] = strdup(json_string_value(v));
		if (!list[i])
			return invalid(errstr, errstr_size, lpath, NULL, "out of memory");
		*n_out = i + 1;
	}
	return EGW_OK;
}

/* x, y, width, height, z, max_columns, max_rows of a region. A canvas of
 * 0x0 (not known) checks only what does not depend on it. */
static egw_err_t region_geometry(const json_t *obj, const char *path, int cw, int ch,
				 egw_region_t *r, char *errstr, size_t errstr_size)
{
	int wmax = cw > 0 ? cw : CANVAS_MAX, hmax = ch > 0 ? ch : CANVAS_MAX;
	egw_err_t err;

	if ((err = int_in(obj, path, "x", 0, wmax - 2, 0, &r->x, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "y", 0, hmax - 2, 0, &r->y, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "width", 2, wmax, -1, &r->width, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "height", 2, hmax, -1, &r->height, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "z", -Z_MAX, Z_MAX, 0, &r->z, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "max_columns", 1, EGW_LAYOUT_CELLS_MAX, EGW_LAYOUT_CELLS_MAX,
			  &r->max_columns, errstr, errstr_size)) ||
	    (err = int_in(obj, path, "max_rows", 1, EGW_LAYOUT_CELLS_MAX, EGW_LAYOUT_CELLS_MAX,
			  &r->max_rows, errstr, errstr_size)))
		return err;
	if (cw > 0 && r->width > 0 && r->x + r->width > cw) {
		egw_json_seterr(errstr, errstr_size, path, "width",
				"the region goes beyond the canvas: x + width must be at most %d",
				cw);
		return EGW_ERR_INVALID_REQUEST;
	}
	if (ch > 0 && r->height > 0 && r->y + r->height > ch) {
		egw_json_seterr(errstr, errstr_size, path, "height",
				"the region goes beyond the canvas: y + height must be at most %d",
				ch);
		return EGW_ERR_INVALID_REQUEST;
	}
	/* Cells have even coordinates: odd values are rounded down, which
	 * keeps the region inside the canvas and at least 2x2. */
	r->x &= ~1;
	r->y &= ~1;
	if (r->width > 0)
		r->width &= ~1;
	if (r->height > 0)
		r->height &= ~1;
	return EGW_OK;
}

static egw_err_t parse_region(const json_t *obj, const char *path, int cw, int ch,
			      egw_region_t *r, char *errstr, size_t errstr_size)
{
	json_t *v;
	egw_err_t err;

	if (!json_is_object(obj))
		return invalid(errstr, errstr_size, path, NULL, "must be an object");
	if ((err = check_keys(obj, path, region_keys, errstr, errstr_size)) ||
	    (err = egw_json_validate(obj, path, region_fields, N(region_fields), errstr,
				     errstr_size)) ||
	    (err = region_geometry(obj, path, cw, ch, r, errstr, errstr_size)) ||
	    (err = string_list(obj, path, "participants", &r->participants, &r->n_participants,
			       errstr, errstr_size)) ||
	    (err = string_list(obj, path, "exclude", &r->exclude, &r->n_exclude, errstr,
			       errstr_size)))
		return err;
	if ((v = json_object_get(obj, "reuse")))
		r->reuse = (egw_reuse_t)name_index(reuse_names, json_string_value(v));
	if ((v = json_object_get(obj, "sources")))
		r->sources = (egw_region_sources_t)name_index(sources_names, json_string_value(v));
	if ((v = json_object_get(obj, "name")) && !(r->name = strdup(json_string_value(v))))
		return invalid(errstr, errstr_size, path, "name", "out of memory");
	return EGW_OK;
}

/* Refuses a region named like one before it. */
static egw_err_t check_names(const egw_layout_t *l, size_t i, const char *path, char *errstr,
			     size_t errstr_size)
{
	const char *name = l->regions[i].name;

	for (size_t j = 0; name && j < i; j++) {
		if (l->regions[j].name && !strcmp(l->regions[j].name, name)) {
			egw_json_seterr(errstr, errstr_size, path, "name",
					"must differ from the name of regions[%zu]", j);
			return EGW_ERR_INVALID_REQUEST;
		}
	}
	return EGW_OK;
}

static egw_err_t parse_custom(const json_t *root, const char *path, int cw, int ch,
			      egw_layout_t *l, char *errstr, size_t errstr_size)
{
	char rpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN];
	json_t *regions, *v;
	egw_err_t err;
	size_t i;

	if (!json_is_object(root))
		return invalid(errstr, errstr_size, path, NULL,
			       "must be a layout name or a custom layout object");
	if ((err = check_keys(root, path, layout_keys, errstr, errstr_size)) ||
	    (err = egw_json_validate(root, path, layout_fields, N(layout_fields), errstr,
				     errstr_size)))
		return err;
	regions = json_object_get(root, "regions");
	l->regions = calloc(json_array_size(regions), sizeof(*l->regions));
	if (!l->regions)
		return invalid(errstr, errstr_size, path, NULL, "out of memory");
	egw_json_path_key(rpath, sizeof(rpath), path, "regions");
	json_array_foreach(regions, i, v) {
		egw_json_path_index(ipath, sizeof(ipath), rpath, i);
		l->n_regions = i + 1;
		if ((err = parse_region(v, ipath, cw, ch, &l->regions[i], errstr, errstr_size)) ||
		    (err = check_names(l, i, ipath, errstr, errstr_size)))
			return err;
	}
	return EGW_OK;
}

static egw_err_t parse_json(const char *text, const char *path, int cw, int ch,
			    egw_layout_t **out, char *errstr, size_t errstr_size)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	egw_layout_t *l = NULL;
	egw_err_t err;

	if (!root) {
		egw_json_seterr(errstr, errstr_size, path, NULL, "%s (line %d, column %d)",
				json_error_code(&jerr) == json_error_duplicate_key
					? "has a key twice"
					: "is not valid JSON",
				jerr.line, jerr.column);
		return EGW_ERR_INVALID_REQUEST;
	}
	l = layout_new(EGW_LAYOUT_CUSTOM);
	if (!l) {
		err = invalid(errstr, errstr_size, path, NULL, "out of memory");
		goto fail;
	}
	err = parse_custom(root, path, cw, ch, l, errstr, errstr_size);
	if (err)
		goto fail;
	json_decref(root);
	*out = l;
	return EGW_OK;
fail:
	egw_layout_free(l);
	json_decref(root);
	return err;
}

egw_err_t egw_layout_parse(const char *text, const char *field, int width, int height,
			   egw_layout_t **out, char *errstr, size_t errstr_size)
{
	const char *path = field && *field ? field : "layout";
	const char *p = text;

	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!out)
		return EGW_ERR_INTERNAL;
	*out = NULL;
	if (!text || !*text)
		return invalid(errstr, errstr_size, path, NULL, "is required");
	for (size_t i = 0; i < N(builtins); i++) {
		if (strcmp(text, builtins[i].name))
			continue;
		*out = layout_new(builtins[i].kind);
		return *out ? EGW_OK : invalid(errstr, errstr_size, path, NULL, "out of memory");
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p != '{')
		return invalid(errstr, errstr_size, path, NULL,
			       "must be grid, speaker, screenshare, single-speaker or a custom "
			       "layout object");
	if (width <= 0 || height <= 0)
		width = height = 0;
	return parse_json(text, path, width, height, out, errstr, errstr_size);
}
