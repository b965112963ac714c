/* Azure Shared Key authorization (see azure_sign.h), as Microsoft documents
 * it in "Authorize with Shared Key": for the Blob service of version
 * 2009-09-19 and later the string to sign is the verb, eleven standard
 * headers' values in a fixed order (an empty line for each one absent),
 * the canonicalized x-ms-* headers and the canonicalized resource; the
 * signature is its HMAC-SHA256 under the base64-decoded account key. */
#include "storage/azure_sign.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The standard headers whose values the string to sign holds, in order. */
static const char *const standard_headers[] = {
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-MD5",
        "Content-Type",
        "Date",
        "If-Modified-Since",
        "If-Match",
        "If-None-Match",
        "If-Unmodified-Since",
        "Range",
};
#define N_STANDARD (sizeof(standard_headers) / sizeof(standard_headers[0]))
#define SLOT_CONTENT_LENGTH 2
#define SLOT_DATE 5

typedef struct ms_header {
	char *name; /* lower case */
	const char *value;
} ms_header_t;

typedef struct query_param {
	char *name, *value; /* decoded; name in lower case */
} query_param_t;

static int usable(const char *s)
{
	return s && *s;
}

static int is_lws(char c)
{
	return c == ' ' || c == '\t';
}

static int is_ms_header(const char *name)
{
	return g_ascii_strncasecmp(name, "x-ms-", 5) == 0;
}

/* Appends value without its leading and trailing white space, each run of
 * white space outside a quoted string made one space. */
static void append_unfolded(GString *out, const char *value)
{
	size_t start = out->len;
	int quoted = 0, space = 0;

	for (const char *c = value; *c; c++) {
		if (!quoted && is_lws(*c)) {
			space = 1;
			continue;
		}
		if (space && out->len > start)
			g_string_append_c(out, ' ');
		space = 0;
		if (*c == '"')
			quoted = !quoted;
		g_string_append_c(out, *c);
	}
}

/* Appends value without its leading and trailing white space. */
static void append_trimmed(GString *out, const char *value)
{
	const char *end = value + strlen(value);

	while (is_lws(*value))
		value++;
	while (end > value && is_lws(end[-1]))
		end--;
	g_string_append_len(out, value, end - value);
}

static int by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(((const ms_header_t *)a)->name, ((const ms_header_t *)b)->name);
}

/* Checks a header's name and value; 0 with errstr when it cannot be sent. */
static int header_ok(const egw_azure_header_t *h, char *errstr, size_t errstr_size)
{
	if (!usable(h->name) || !h->value) {
		snprintf(errstr, errstr_size, "a request header has no name or no value");
		return 0;
	}
	if (strpbrk(h->name, " \t\r\n:")) {
		snprintf(errstr, errstr_size,
		         "a request header name has spaces, colons or line breaks");
		return 0;
	}
	if (strpbrk(h->value, "\r\n")) {
		snprintf(errstr, errstr_size, "request header %.64s: its value has a line break",
		         h->name);
		return 0;
	}
	return 1;
}

/* Checks that a and b (a before b in byte order) are in the service's
 * order too, 0 with errstr when not. Azure sorts names as .NET's culture
 * comparison does (its SDKs carry the table), where '-' is ignored and
 * '_' comes before digits: the two orders agree exactly when the first
 * byte that differs is a letter or digit in both names, or one name is
 * the start of the other. Rather than sign in an order the service may
 * not share, such names are refused. */
static int order_ok(const char *a, const char *b, char *errstr, size_t errstr_size)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	if (!a[i] && !b[i]) {
		snprintf(errstr, errstr_size, "request header %.64s appears twice", a);
		return 0;
	}
	if (a[i] && b[i] && (!g_ascii_isalnum(a[i]) || !g_ascii_isalnum(b[i]))) {
		snprintf(errstr, errstr_size,
		         "request headers %.64s and %.64s first differ at a '-' or '_', where "
		         "Azure's order of names is not byte order: rename one",
		         a, b);
		return 0;
	}
	return 1;
}

char *egw_azure_canonical_headers(const egw_azure_header_t *headers, size_t n, char *errstr,
                                  size_t errstr_size)
{
	GArray *ms = g_array_new(FALSE, FALSE, sizeof(ms_header_t));
	GString *out = g_string_new(NULL);
	int ok = 1;

	for (size_t i = 0; i < n && ok; i++) {
		ms_header_t h;

		if (!(ok = header_ok(&headers[i], errstr, errstr_size)))
			break;
		if (!is_ms_header(headers[i].name))
			continue;
		h.name = g_ascii_strdown(headers[i].name, -1);
		h.value = headers[i].value;
		g_array_append_val(ms, h);
	}
	if (ok)
		g_array_sort(ms, by_name);
	for (guint i = 0; ok && i < ms->len; i++) {
		const ms_header_t *h = &g_array_index(ms, ms_header_t, i);

		if (i > 0 && !(ok = order_ok(g_array_index(ms, ms_header_t, i - 1).name, h->name,
		                             errstr, errstr_size)))
			break;
		g_string_append(out, h->name);
		g_string_append_c(out, ':');
		append_unfolded(out, h->value);
		g_string_append_c(out, '\n');
	}
	for (guint i = 0; i < ms->len; i++)
		g_free(g_array_index(ms, ms_header_t, i).name);
	g_array_free(ms, TRUE);
	return g_string_free(out, !ok);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The percent-decoded copy of s[0..len) (g_free it), or NULL for a bad
 * escape or a control character. */
static char *percent_decode(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto fail;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			goto fail;
		g_string_append_c(out, (char)c);
	}
	return g_string_free(out, FALSE);
fail:
	g_string_free(out, TRUE);
	return NULL;
}

static int by_name_value(gconstpointer a, gconstpointer b)
{
	const query_param_t *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Splits query into decoded parameters; 0 with errstr when it cannot. */
static int parse_query(const char *query, GArray *params, char *errstr, size_t errstr_size)
{
	if (strchr(query, '+')) {
		snprintf(errstr, errstr_size,
		         "the query has a literal '+', which Azure may read as a space: "
		         "encode it (%%2B, or %%20 for a space)");
		return 0;
	}
	for (const char *p = query; *p;) {
		const char *end = strchr(p, '&'), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		query_param_t q;
		char *raw_name;

		eq = memchr(p, '=', len);
		if (len > 0 && eq == p) {
			snprintf(errstr, errstr_size, "the query has a parameter without a name");
			return 0;
		}
		if (len > 0) { /* "a&&b" has an empty part, not a parameter */
			raw_name = g_ascii_strdown(p, eq ? eq - p : (gssize)len);
			q.name = percent_decode(raw_name, strlen(raw_name));
			q.value = eq ? percent_decode(eq + 1, len - (size_t)(eq + 1 - p))
			             : g_strdup("");
			g_free(raw_name);
			if (!q.name || !q.value) {
				g_free(q.name);
				g_free(q.value);
				snprintf(errstr, errstr_size,
				         "the query has a bad percent-encoding or a control "
				         "character");
				return 0;
			}
			g_array_append_val(params, q);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 1;
}

char *egw_azure_canonical_resource(const char *account, const char *path, const char *query,
                                   char *errstr, size_t errstr_size)
{
	GArray *params = g_array_new(FALSE, FALSE, sizeof(query_param_t));
	GString *out = NULL;

	if (!usable(account) || strpbrk(account, "/ \t\r\n") || !path || path[0] != '/' ||
	    strpbrk(path, " \t\r\n?#")) {
		snprintf(errstr, errstr_size,
		         "a canonicalized resource needs an account name and an encoded path "
		         "starting with '/'");
		goto out;
	}
	if (query && !parse_query(query, params, errstr, errstr_size))
		goto out;
	g_array_sort(params, by_name_value);
	out = g_string_new("/");
	g_string_append(out, account);
	g_string_append(out, path);
	for (guint i = 0; i < params->len; i++) {
		const query_param_t *q = &g_array_index(params, query_param_t, i);

		if (i > 0 && !strcmp(q->name, g_array_index(params, query_param_t, i - 1).name)) {
			g_string_append_c(out, ',');
		} else {
			g_string_append_c(out, '\n');
			g_string_append(out, q->name);
			g_string_append_c(out, ':');
		}
		g_string_append(out, q->value);
	}
out:
	for (guint i = 0; i < params->len; i++) {
		g_free(g_array_index(params, query_param_t, i).name);
		g_free(g_array_index(params, query_param_t, i).value);
	}
	g_array_free(params, TRUE);
	return out ? g_string_free(out, FALSE) : NULL;
}

/* Finds the standard headers of r into slot[]; 0 with errstr when one
 * appears twice or a header cannot be sent. */
static int standard_slots(const egw_azure_request_t *r, const char *slot[N_STANDARD],
                          int *has_ms_date, char *errstr, size_t errstr_size)
{
	*has_ms_date = 0;
	for (size_t i = 0; i < r->n_headers; i++) {
		const egw_azure_header_t *h = &r->headers[i];

		if (!header_ok(h, errstr, errstr_size))
			return 0;
		if (!g_ascii_strcasecmp(h->name, "x-ms-date"))
			*has_ms_date = 1;
		for (size_t s = 0; s < N_STANDARD; s++) {
			if (g_ascii_strcasecmp(h->name, standard_headers[s]))
				continue;
			if (slot[s]) {
				snprintf(errstr, errstr_size, "request header %s appears twice",
				         standard_headers[s]);
				return 0;
			}
			slot[s] = h->value;
		}
	}
	return 1;
}

char *egw_azure_string_to_sign(const egw_azure_request_t *r, char *errstr, size_t errstr_size)
{
	const char *slot[N_STANDARD] = {0};
	char *headers = NULL, *resource = NULL;
	GString *out = NULL;
	int has_ms_date;

	if (!usable(r->method) ||
	    strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method)) {
		snprintf(errstr, errstr_size, "a Shared Key request needs an upper-case method");
		return NULL;
	}
	if (r->n_headers && !r->headers) {
		snprintf(errstr, errstr_size, "a Shared Key request lacks its headers");
		return NULL;
	}
	if (!standard_slots(r, slot, &has_ms_date, errstr, errstr_size))
		return NULL;
	if (!(headers =
	              egw_azure_canonical_headers(r->headers, r->n_headers, errstr, errstr_size)) ||
	    !(resource = egw_azure_canonical_resource(r->account, r->path, r->query, errstr,
	                                              errstr_size)))
		goto out;
	out = g_string_new(r->method);
	g_string_append_c(out, '\n');
	for (size_t s = 0; s < N_STANDARD; s++) {
		size_t before = out->len;

		if (slot[s] && !(s == SLOT_DATE && has_ms_date))
			append_trimmed(out, slot[s]);
		/* 2015-02-21 and later: an empty line for a zero length */
		if (s == SLOT_CONTENT_LENGTH && !strcmp(out->str + before, "0"))
			g_string_truncate(out, before);
		g_string_append_c(out, '\n');
	}
	g_string_append(out, headers);
	g_string_append(out, resource);
out:
	g_free(headers);
	g_free(resource);
	return out ? g_string_free(out, FALSE) : NULL;
}

/* The decoded account key (wipe and g_free it), or NULL when key is not
 * strict base64 (the alphabet, a multiple of 4 long, '=' only at the end). */
static guint8 *decode_key(const char *key, gsize *len)
{
	size_t n = key ? strlen(key) : 0, pad = 0;

	if (n == 0 || n % 4)
		return NULL;
	while (pad < 2 && key[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!g_ascii_isalnum(key[i]) && key[i] != '+' && key[i] != '/')
			return NULL;
	return g_base64_decode(key, len);
}

/* base64(HMAC-SHA256(msg, the decoded account_key)) (g_free it), or NULL
 * with errstr for a key that is not base64. */
static char *sign(const char *account_key, const char *msg, char *errstr, size_t errstr_size)
{
	guint8 digest[32], *key = NULL;
	gsize key_len = 0, digest_len = sizeof(digest);
	char *signature;
	GHmac *hmac;

	if (!(key = decode_key(account_key, &key_len)) || key_len == 0) {
		snprintf(errstr, errstr_size,
		         "the Azure account key is not base64 (the key as the portal shows it)");
		g_free(key);
		return NULL;
	}
	hmac = g_hmac_new(G_CHECKSUM_SHA256, key, key_len);
	g_hmac_update(hmac, (const guchar *)msg, (gssize)strlen(msg));
	g_hmac_get_digest(hmac, digest, &digest_len);
	g_hmac_unref(hmac);
	signature = g_base64_encode(digest, digest_len);
	explicit_bzero(digest, sizeof(digest));
	explicit_bzero(key, key_len);
	g_free(key);
	return signature;
}

char *egw_azure_authorization(const egw_azure_request_t *r, const char *account_key, char *errstr,
                              size_t errstr_size)
{
	char *to_sign, *signature = NULL, *header = NULL;

	if (!(to_sign = egw_azure_string_to_sign(r, errstr, errstr_size)))
		return NULL;
	if ((signature = sign(account_key, to_sign, errstr, errstr_size)))
		header = g_strdup_printf("SharedKey %s:%s", r->account, signature);
	g_free(signature);
	g_free(to_sign);
	return header;
}

/* ---- service SAS ---- */

char *egw_azure_sas_string_to_sign(const char *account, const char *container, const char *blob,
                                   const char *expiry)
{
	/* sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot
	 * time, ses, rscc, rscd, rsce, rscl, rsct */
	return g_strdup_printf("r\n\n%s\n/blob/%s/%s/%s\n\n\n\n%s\nb\n\n\n\n\n\n\n", expiry,
	                       account, container, blob, EGW_AZURE_SAS_VERSION);
}

char *egw_azure_blob_sas(const char *account, const char *account_key, const char *container,
                         const char *blob, time_t expiry, char *errstr, size_t errstr_size)
{
	char se[32], *to_sign, *signature, *sig_enc, *se_enc, *query = NULL;
	struct tm tm;

	gmtime_r(&expiry, &tm);
	strftime(se, sizeof(se), "%Y-%m-%dT%H:%M:%SZ", &tm);
	to_sign = egw_azure_sas_string_to_sign(account, container, blob, se);
	signature = sign(account_key, to_sign, errstr, errstr_size);
	if (signature) {
		sig_enc = g_uri_escape_string(signature, NULL, FALSE);
		se_enc = g_uri_escape_string(se, NULL, FALSE);
		query = g_strdup_printf("sv=%s&sr=b&sp=r&se=%s&sig=%s", EGW_AZURE_SAS_VERSION, se_enc,
		                        sig_enc);
		g_free(sig_enc);
		g_free(se_enc);
	}
	g_free(signature);
	g_free(to_sign);
	return query;
}
