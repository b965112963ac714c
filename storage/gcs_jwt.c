/* Google service-account OAuth 2.0 (see gcs_jwt.h): a JWT (RFC 7519)
 * signed with RS256 (RFC 7515/7518: RSASSA-PKCS1-v1_5 over SHA-256 of
 * "base64url(header).base64url(claims)") with the account's private key,
 * traded at the token endpoint for an access token (RFC 7523's jwt-bearer
 * grant), in the form Google's "Using OAuth 2.0 for Server to Server
 * Applications" gives. JSON through jansson; the key through libcrypto. */
#include "storage/gcs_jwt.h"

#include <glib.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "storage/presign.h"

#define KEY_BITS_MIN 2048 /* RFC 7518 section 3.3 */
#define TOKEN_LIFETIME_MAX (7 * 86400)
#define GRANT_TYPE "urn:ietf:params:oauth:grant-type:jwt-bearer"

struct egw_gcs_account {
	char *email;  /* malloc'ed, as are the others */
	char *key_id; /* NULL when the file has none */
	char *token_uri;
	EVP_PKEY *key;
};

/* A key file's fields, as egw_json_fill() stores them. */
typedef struct key_file {
	char *type, *client_email, *private_key, *private_key_id, *token_uri;
} key_file_t;

static const char *const account_types[] = {"service_account", NULL};

static const egw_json_field_t key_file_fields[] = {
        {.name = "type",
         .types = EGW_JSON_T_STRING,
         .one_of = account_types,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(key_file_t, type)},
        {.name = "client_email",
         .types = EGW_JSON_T_STRING,
         .flags = EGW_JSON_REQUIRED | EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE,
         .max_len = 320,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(key_file_t, client_email)},
        {.name = "private_key",
         .types = EGW_JSON_T_STRING,
         .flags = EGW_JSON_REQUIRED | EGW_JSON_NONEMPTY | EGW_JSON_SECRET,
         .max_len = 16384,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(key_file_t, private_key)},
        {.name = "private_key_id",
         .types = EGW_JSON_T_STRING,
         .flags = EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE,
         .max_len = 256,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(key_file_t, private_key_id)},
        {.name = "token_uri",
         .types = EGW_JSON_T_STRING,
         .flags = EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE,
         .max_len = 2048,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(key_file_t, token_uri)},
};

typedef struct token_fields {
	char *access_token;
	int expires_in;
} token_fields_t;

static const egw_json_field_t token_fields[] = {
        {.name = "access_token",
         .types = EGW_JSON_T_STRING,
         .flags = EGW_JSON_REQUIRED | EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE | EGW_JSON_SECRET,
         .max_len = 8192,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(token_fields_t, access_token)},
        {.name = "expires_in",
         .types = EGW_JSON_T_INT,
         .flags = EGW_JSON_REQUIRED,
         .min = 1,
         .max = TOKEN_LIFETIME_MAX,
         .dest = EGW_JSON_DEST_INT,
         .offset = offsetof(token_fields_t, expires_in)},
        {.name = "token_type", .types = EGW_JSON_T_STRING | EGW_JSON_T_NULL},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

char *egw_gcs_base64url(const void *data, size_t len)
{
	char *s = g_base64_encode(data, len), *w = s;

	for (const char *r = s; *r && *r != '='; r++)
		*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
	*w = '\0';
	return s;
}

/* Never asks for a passphrase (OpenSSL would prompt on the terminal): an
 * encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
	return -1;
}

/* The RSA private key of a PEM text, or NULL with errstr ("what: ..."). */
static EVP_PKEY *load_key(const char *pem, const char *what, char *errstr, size_t errstr_size)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error(); /* leave no error behind for the thread's next TLS user */
	if (!key)
		snprintf(errstr, errstr_size, "%s: not an unencrypted PEM private key", what);
	else if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
		snprintf(errstr, errstr_size, "%s: not an RSA key (RS256 needs one)", what);
	else if (EVP_PKEY_bits(key) < KEY_BITS_MIN)
		snprintf(errstr, errstr_size, "%s: an RSA key of %d bits, less than %d", what,
		         EVP_PKEY_bits(key), KEY_BITS_MIN);
	else
		return key;
	EVP_PKEY_free(key);
	return NULL;
}

/* RSASSA-PKCS1-v1_5 with SHA-256 of input under key, with the raw
 * signature's encoding (g_free it); NULL with errstr. */
static char *sign_sha256(EVP_PKEY *key, const char *input,
                         char *(*encode)(const unsigned char *, size_t), char *errstr,
                         size_t errstr_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = (size_t)EVP_PKEY_size(key);
	unsigned char *sig = g_malloc(sig_len);
	char *out = NULL;

	if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) == 1) {
		out = encode(sig, sig_len);
	} else {
		snprintf(errstr, errstr_size, "RSA-SHA256 signing failed");
		ERR_clear_error();
	}
	EVP_MD_CTX_free(ctx);
	g_free(sig);
	return out;
}

static char *base64url(const unsigned char *data, size_t len)
{
	return egw_gcs_base64url(data, len);
}

static char *hex(const unsigned char *data, size_t len)
{
	char *out = g_malloc(2 * len + 1);
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", data[i]);
	out[2 * len] = '\0';
	return out;
}

/* RS256 of input under key, base64url; NULL with errstr. */
static char *rs256(EVP_PKEY *key, const char *input, char *errstr, size_t errstr_size)
{
	return sign_sha256(key, input, base64url, errstr, errstr_size);
}

char *egw_gcs_signed_url(const egw_gcs_account_t *a, const char *scheme, const char *host,
                         const char *path, time_t now, int expires_s, char *errstr,
                         size_t errstr_size)
{
	char date[9], stamp[17], *scope, *raw, *credential, *query, *uri, *to_sign, *sig,
	        *url = NULL;
	struct tm tm;

	if (!a || !scheme || !host || !path || path[0] != '/' || expires_s < 1 ||
	    expires_s > EGW_GCS_SIGNED_URL_MAX_S) {
		snprintf(errstr, errstr_size, "a signed URL needs a path and lasts 1 to %d s",
		         EGW_GCS_SIGNED_URL_MAX_S);
		return NULL;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	scope = g_strdup_printf("%s/auto/storage/goog4_request", date);
	raw = g_strdup_printf("%s/%s", a->email, scope);
	credential = egw_aws_uri_encode(raw, 0);
	query = g_strdup_printf("X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=%s"
	                        "&X-Goog-Date=%s&X-Goog-Expires=%d&X-Goog-SignedHeaders=host",
	                        credential, stamp, expires_s);
	uri = egw_aws_uri_encode(path, 1);
	to_sign = egw_v4_string_to_sign("GOOG4-RSA-SHA256", "GET", uri, query, host, stamp, scope);
	if ((sig = sign_sha256(a->key, to_sign, hex, errstr, errstr_size)))
		url = g_strdup_printf("%s://%s%s?%s&X-Goog-Signature=%s", scheme, host, uri, query,
		                      sig);
	g_free(sig);
	g_free(to_sign);
	g_free(uri);
	g_free(query);
	g_free(credential);
	g_free(raw);
	g_free(scope);
	return url;
}

char *egw_gcs_rs256_sign_pem(const char *pem, const char *signing_input, char *errstr,
                             size_t errstr_size)
{
	EVP_PKEY *key;
	char *out;

	if (!pem || !signing_input) {
		snprintf(errstr, errstr_size, "RS256 needs a key and an input");
		return NULL;
	}
	if (!(key = load_key(pem, "private key", errstr, errstr_size)))
		return NULL;
	out = rs256(key, signing_input, errstr, errstr_size);
	EVP_PKEY_free(key);
	return out;
}

static void key_file_clear(key_file_t *f)
{
	free(f->type);
	free(f->client_email);
	wipe_free(f->private_key);
	free(f->private_key_id);
	free(f->token_uri);
	memset(f, 0, sizeof(*f));
}

/* Wipes a secret string of a parsed document before the document is freed
 * (jansson owns the bytes and frees them right after). */
static void wipe_member(json_t *root, const char *name)
{
	json_t *v = json_is_object(root) ? json_object_get(root, name) : NULL;

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

egw_err_t egw_gcs_account_parse(const char *json, size_t len, egw_gcs_account_t **out, char *errstr,
                                size_t errstr_size)
{
	key_file_t f = {0};
	egw_gcs_account_t *a = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	egw_err_t err = EGW_ERR_INVALID_REQUEST;

	*out = NULL;
	if (!json || !(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr))) {
		/* jerr.text may quote the document: only where */
		snprintf(errstr, errstr_size, "service_account: not a JSON document (line %d)",
		         json ? jerr.line : 0);
		return EGW_ERR_INVALID_REQUEST;
	}
	if ((err = egw_json_validate(root, "service_account", key_file_fields, N(key_file_fields),
	                             errstr, errstr_size)))
		goto out;
	if ((err = egw_json_fill(root, key_file_fields, N(key_file_fields), &f))) {
		snprintf(errstr, errstr_size, "service_account: out of memory");
		goto out;
	}
	err = EGW_ERR_INVALID_REQUEST;
	if (f.token_uri && !g_str_has_prefix(f.token_uri, "https://") &&
	    !g_str_has_prefix(f.token_uri, "http://")) {
		snprintf(errstr, errstr_size, "service_account.token_uri: must be an http(s) URL");
		goto out;
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		snprintf(errstr, errstr_size, "service_account: out of memory");
		err = EGW_ERR_NOMEM;
		goto out;
	}
	if (!(a->key = load_key(f.private_key, "service_account.private_key", errstr, errstr_size)))
		goto out;
	a->email = f.client_email;
	a->key_id = f.private_key_id;
	a->token_uri = f.token_uri ? f.token_uri : strdup(EGW_GCS_TOKEN_URI);
	f.client_email = f.private_key_id = f.token_uri = NULL;
	if (!a->email || !a->token_uri) {
		snprintf(errstr, errstr_size, "service_account: out of memory");
		err = EGW_ERR_NOMEM;
		goto out;
	}
	*out = a;
	a = NULL;
	err = EGW_OK;
out:
	egw_gcs_account_free(a);
	key_file_clear(&f);
	wipe_member(root, "private_key");
	json_decref(root);
	return err;
}

const char *egw_gcs_account_email(const egw_gcs_account_t *a)
{
	return a->email;
}

const char *egw_gcs_account_token_uri(const egw_gcs_account_t *a)
{
	return a->token_uri;
}

void egw_gcs_account_free(egw_gcs_account_t *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->key);
	free(a->email);
	free(a->key_id);
	free(a->token_uri);
	free(a);
}

/* base64url of obj's compact JSON, keys in the order they were set. */
static char *encode_part(json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	char *out = text ? egw_gcs_base64url(text, strlen(text)) : NULL;

	free(text);
	return out;
}

char *egw_gcs_jwt_assertion(const egw_gcs_account_t *a, const char *scope, time_t now, char *errstr,
                            size_t errstr_size)
{
	json_t *header = NULL, *claims = NULL;
	char *header64 = NULL, *claims64 = NULL, *input = NULL, *sig = NULL, *jwt = NULL;

	if (!a || now < 0) {
		snprintf(errstr, errstr_size, "a JWT needs an account and a time");
		return NULL;
	}
	if (!scope || !*scope)
		scope = EGW_GCS_SCOPE_RW;
	header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	if (header && a->key_id)
		json_object_set_new(header, "kid", json_string(a->key_id));
	/* the order of Google's example: iss, scope, aud, exp, iat */
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", a->email, "scope", scope, "aud",
	                   a->token_uri, "exp", (json_int_t)now + EGW_GCS_JWT_LIFETIME_S, "iat",
	                   (json_int_t)now);
	header64 = encode_part(header);
	claims64 = encode_part(claims);
	if (!header64 || !claims64) {
		snprintf(errstr, errstr_size, "the JWT's claims cannot be encoded (scope?)");
		goto out;
	}
	input = g_strconcat(header64, ".", claims64, NULL);
	if ((sig = rs256(a->key, input, errstr, errstr_size)))
		jwt = g_strconcat(input, ".", sig, NULL);
out:
	json_decref(header);
	json_decref(claims);
	g_free(header64);
	g_free(claims64);
	g_free(input);
	g_free(sig);
	return jwt;
}

char *egw_gcs_token_request_body(const char *assertion)
{
	char *grant = g_uri_escape_string(GRANT_TYPE, NULL, FALSE);
	char *escaped = g_uri_escape_string(assertion ? assertion : "", NULL, FALSE);
	char *body = g_strconcat("grant_type=", grant, "&assertion=", escaped, NULL);

	g_free(grant);
	g_free(escaped);
	return body;
}

/* Copies s into out, printable ASCII only (others become '?'), cut to fit. */
static void printable(char *out, size_t size, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < size; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (size)
		out[i] = '\0';
}

/* errstr for an OAuth error answer (RFC 6749 section 5.2): its code and
 * description, which carry no secret. */
static void oauth_error(const json_t *root, char *errstr, size_t errstr_size)
{
	char code[64], description[200];

	printable(code, sizeof(code), json_string_value(egw_json_get(root, "error")));
	printable(description, sizeof(description),
	          json_string_value(egw_json_get(root, "error_description")));
	snprintf(errstr, errstr_size, "the token endpoint refused: %s%s%s%s",
	         code[0] ? code : "(no error code)", description[0] ? " (" : "", description,
	         description[0] ? ")" : "");
}

egw_err_t egw_gcs_token_parse(const char *json, size_t len, egw_gcs_token_t *out, char *errstr,
                              size_t errstr_size)
{
	token_fields_t f = {0};
	json_error_t jerr;
	json_t *root = NULL, *type;
	egw_err_t err = EGW_ERR_INVALID_REQUEST;

	memset(out, 0, sizeof(*out));
	if (!json || !(root = json_loadb(json, len, 0, &jerr))) {
		snprintf(errstr, errstr_size, "token_response: not a JSON document");
		return EGW_ERR_INVALID_REQUEST;
	}
	if (json_is_object(root) && egw_json_get(root, "error")) {
		oauth_error(root, errstr, errstr_size);
		goto out;
	}
	if ((err = egw_json_validate(root, "token_response", token_fields, N(token_fields), errstr,
	                             errstr_size)))
		goto out;
	type = egw_json_get(root, "token_type");
	if (type && g_ascii_strcasecmp(json_string_value(type), "Bearer")) {
		snprintf(errstr, errstr_size, "token_response.token_type: must be Bearer");
		err = EGW_ERR_INVALID_REQUEST;
		goto out;
	}
	if ((err = egw_json_fill(root, token_fields, N(token_fields), &f))) {
		snprintf(errstr, errstr_size, "token_response: out of memory");
		goto out;
	}
	out->access_token = f.access_token;
	out->expires_in = f.expires_in;
	f.access_token = NULL;
out:
	wipe_free(f.access_token);
	wipe_member(root, "access_token");
	json_decref(root);
	return err;
}

void egw_gcs_token_clear(egw_gcs_token_t *t)
{
	if (!t)
		return;
	wipe_free(t->access_token);
	memset(t, 0, sizeof(*t));
}
