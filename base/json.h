/* Table-driven validation of JSON objects (jansson), in the manner of Janus's
 * janus_json_parameter tables: each expected field has a name, the JSON types
 * it may have, bounds, and optionally where to store it in a C struct.
 * Unknown fields are ignored (forward compatibility); wrong types, missing
 * required fields and out-of-bounds values are errors whose message names the
 * field path ("outputs[0].segment_s: must be an integer between 1 and 60").
 * Messages never contain the values found in the document.
 * locality: any thread; no shared state. */
#ifndef EGW_JSONUTIL_H
#define EGW_JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* JSON types a field may have (bit mask). */
#define EGW_JSON_T_STRING 0x01u
#define EGW_JSON_T_INT 0x02u    /* JSON integer (no fraction, no exponent) */
#define EGW_JSON_T_NUMBER 0x04u /* integer or real */
#define EGW_JSON_T_BOOL 0x08u
#define EGW_JSON_T_OBJECT 0x10u
#define EGW_JSON_T_ARRAY 0x20u
#define EGW_JSON_T_NULL 0x40u /* null accepted, and treated as absent */

/* Field flags (bit mask). */
#define EGW_JSON_REQUIRED 0x01u  /* absent (or null) is an error */
#define EGW_JSON_NONEMPTY 0x02u  /* strings: "" is an error */
#define EGW_JSON_PRINTABLE 0x04u /* strings: no control characters */
#define EGW_JSON_SECRET 0x08u    /* value is a secret: callers must redact it */

/* Where egw_json_fill() stores a field, at base + offset. */
typedef enum egw_json_dest {
	EGW_JSON_DEST_NONE = 0, /* validated only; the caller extracts it */
	EGW_JSON_DEST_STR,      /* char *: malloc'ed copy; integers as decimal
				 * text, objects and arrays as compact JSON */
	EGW_JSON_DEST_INT,      /* int (bounds default to the range of int) */
	EGW_JSON_DEST_BOOL,     /* int: 0 or 1 */
} egw_json_dest_t;

typedef struct egw_json_field {
	const char *name;
	unsigned types; /* EGW_JSON_T_* */
	unsigned flags; /* EGW_JSON_REQUIRED, ... */
	/* Integers: allowed values; arrays: number of items. Not checked when
	 * both are 0. */
	json_int_t min, max;
	size_t max_len;             /* strings: at most this many bytes; 0: no limit */
	const char *const *one_of;  /* strings: allowed values, NULL-terminated */
	egw_json_dest_t dest;
	size_t offset;              /* with dest: offsetof(struct, member) */
} egw_json_field_t;

/* Checks obj against the n fields of table. path is the prefix for messages
 * ("" or NULL at the top level, "outputs[0]", "room", ...). On failure returns
 * EGW_ERR_INVALID_REQUEST with "path.field: what is wrong" in errstr. */
egw_err_t egw_json_validate(const json_t *obj, const char *path, const egw_json_field_t *table,
			    size_t n, char *errstr, size_t errstr_size);

/* Stores the fields of a validated obj that have a dest into the struct at
 * base. Absent and null fields leave their member untouched. Returns
 * EGW_ERR_NOMEM when a copy cannot be made (members filled so far stay set,
 * for the caller's free function). */
egw_err_t egw_json_fill(const json_t *obj, const egw_json_field_t *table, size_t n, void *base);

/* The field of obj, or NULL when it is absent or null. */
json_t *egw_json_get(const json_t *obj, const char *name);

/* Field paths for messages: "prefix.key" (or "key" when prefix is empty or
 * NULL) and "prefix[index]". Truncated to fit out. */
void egw_json_path_key(char *out, size_t out_size, const char *prefix, const char *key);
void egw_json_path_index(char *out, size_t out_size, const char *prefix, size_t index);

/* Writes "prefix.key: <message>" into errstr (key may be NULL: "prefix: ...").
 * Never pass a value taken from the document as an argument. */
void egw_json_seterr(char *errstr, size_t errstr_size, const char *prefix, const char *key,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
