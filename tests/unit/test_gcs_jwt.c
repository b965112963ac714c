/* storage/gcs_jwt: Google service-account OAuth 2.0 against published
 * vectors and a round trip:
 * - RFC 7515 (JSON Web Signature) Appendix A.2: the RS256 signature over
 *   the appendix's exact signing input with its RSA key (A.2.1, as PEM in
 *   data/rfc7515_a2_key.pem) must be the published one, byte for byte
 *   (RSASSA-PKCS1-v1_5 is deterministic); and the base64url of its header
 *   and payload octets the published encodings.
 * - Google's "Using OAuth 2.0 for Server to Server Applications"
 *   (developers.google.com/identity/protocols/oauth2/service-account): the
 *   encoded header {"alg":"RS256","typ":"JWT"} and the encoded claim set
 *   of its example (iss 761326798069-...@developer.gserviceaccount.com,
 *   scope .../auth/prediction, aud .../o/oauth2/token, iat 1328550785),
 *   the form body of the token request, and its example token answer.
 *   Google publishes no key for its signature: ours is checked with the
 *   test key's public half (data/gcs_test_key*.pem, a test-only key).
 * - Key files and answers that cannot be used, whose errors name the field
 *   and never quote the key or the token. */
#include <glib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "storage/gcs_jwt.h"
#include "tests/unit/check.h"

#define RFC_SIGNING_INPUT                                                                          \
	"eyJhbGciOiJSUzI1NiJ9"                                                                     \
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb"       \
	"290Ijp0cnVlfQ"
#define RFC_SIGNATURE                                                                              \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt"     \
	"_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArL"     \
	"IARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7no"     \
	"OPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQ"     \
	"Ge77Rw"

#define GOOGLE_ISS "761326798069-r5mljlln1rd4lrbhg75efgigp36m78j5@developer.gserviceaccount.com"
#define GOOGLE_HEADER64 "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
#define GOOGLE_CLAIMS64                                                                            \
	"eyJpc3MiOiI3NjEzMjY3OTgwNjktcjVtbGpsbG4xcmQ0bHJiaGc3NWVmZ2lncDM2bTc4ajVAZGV2ZWxvcGVy"     \
	"LmdzZXJ2aWNlYWNjb3VudC5jb20iLCJzY29wZSI6Imh0dHBzOi8vd3d3Lmdvb2dsZWFwaXMuY29tL2F1dGgv"     \
	"cHJlZGljdGlvbiIsImF1ZCI6Imh0dHBzOi8vYWNjb3VudHMuZ29vZ2xlLmNvbS9vL29hdXRoMi90b2tlbiIs"     \
	"ImV4cCI6MTMyODU1NDM4NSwiaWF0IjoxMzI4NTUwNzg1fQ"
#define GOOGLE_TOKEN "1/8xbJqaOZXSUZbHLl5EOtu1pxz3fmmetKx9W8CV4t79M"

static char *read_data(const char *name)
{
	char *path = g_build_filename("data", name, NULL), *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		fprintf(stderr, "cannot read %s (run from tests/unit)\n", path);
		exit(1);
	}
	g_free(path);
	return text;
}

/* A service-account key file: the fields given (NULL: absent). */
static char *key_file(const char *type, const char *email, const char *key, const char *key_id,
                      const char *token_uri)
{
	json_t *o = json_object();
	char *text;

	if (type)
		json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "project_id", json_string("egress-tests"));
	if (key_id)
		json_object_set_new(o, "private_key_id", json_string(key_id));
	if (key)
		json_object_set_new(o, "private_key", json_string(key));
	if (email)
		json_object_set_new(o, "client_email", json_string(email));
	if (token_uri)
		json_object_set_new(o, "token_uri", json_string(token_uri));
	text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return text;
}

/* The JSON text of a base64url part (g_free it). */
static char *decode_part(const char *b64url, size_t len)
{
	GString *s = g_string_new_len(b64url, (gssize)len);
	gsize n;
	char *out;

	for (size_t i = 0; i < s->len; i++)
		s->str[i] = s->str[i] == '-' ? '+' : s->str[i] == '_' ? '/' : s->str[i];
	while (s->len % 4)
		g_string_append_c(s, '=');
	out = (char *)g_base64_decode(s->str, &n);
	out = g_realloc(out, n + 1);
	out[n] = '\0';
	g_string_free(s, TRUE);
	return out;
}

/* Verifies jwt's RS256 signature with the public key in pub_pem. */
static int verify(const char *jwt, const char *pub_pem)
{
	const char *dot = strrchr(jwt, '.');
	BIO *bio = BIO_new_mem_buf(pub_pem, -1);
	EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	GString *sig64 = g_string_new(dot + 1);
	guchar *sig;
	gsize sig_len;
	int ok;

	for (size_t i = 0; i < sig64->len; i++)
		sig64->str[i] = sig64->str[i] == '-'   ? '+'
		                : sig64->str[i] == '_' ? '/'
		                                       : sig64->str[i];
	while (sig64->len % 4)
		g_string_append_c(sig64, '=');
	sig = g_base64_decode(sig64->str, &sig_len);
	ok = pub && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jwt, (size_t)(dot - jwt)) ==
	             1;
	g_free(sig);
	g_string_free(sig64, TRUE);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	BIO_free(bio);
	return ok;
}

static void test_rfc7515_a2(void)
{
	static const char header[] = "{\"alg\":\"RS256\"}";
	static const char payload[] = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
	                              "\"http://example.com/is_root\":true}";
	char err[256], *pem = read_data("rfc7515_a2_key.pem"), *s;

	s = egw_gcs_base64url(header, strlen(header));
	CHECK_STR(s, "eyJhbGciOiJSUzI1NiJ9");
	g_free(s);
	s = egw_gcs_base64url(payload, strlen(payload));
	CHECK_STR(s, "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9p"
	             "c19yb290Ijp0cnVlfQ");
	g_free(s);
	s = egw_gcs_rs256_sign_pem(pem, RFC_SIGNING_INPUT, err, sizeof(err));
	CHECK_STR(s, RFC_SIGNATURE);
	g_free(s);
	g_free(pem);
}

static void test_google_example_claims(void)
{
	char err[256], *pem = read_data("gcs_test_key.pem"),
	               *pub = read_data("gcs_test_key.pub.pem");
	char *file = key_file("service_account", GOOGLE_ISS, pem, NULL,
	                      "https://accounts.google.com/o/oauth2/token");
	egw_gcs_account_t *a = NULL;
	char *jwt = NULL;

	CHECK(egw_gcs_account_parse(file, strlen(file), &a, err, sizeof(err)) == EGW_OK);
	if (a) {
		CHECK_STR(egw_gcs_account_email(a), GOOGLE_ISS);
		jwt = egw_gcs_jwt_assertion(a, "https://www.googleapis.com/auth/prediction",
		                            1328550785, err, sizeof(err));
	}
	CHECK(jwt && g_str_has_prefix(jwt, GOOGLE_HEADER64 "." GOOGLE_CLAIMS64 "."));
	CHECK(jwt && verify(jwt, pub));
	if (jwt) { /* a changed claim no longer verifies */
		char *bad = g_strdup(jwt);
		bad[strlen(GOOGLE_HEADER64) + 5] ^= 1;
		CHECK(!verify(bad, pub));
		g_free(bad);
	}
	g_free(jwt);
	egw_gcs_account_free(a);
	free(file);
	g_free(pub);
	g_free(pem);
}

/* kid from private_key_id; the default scope and token_uri; exp = iat + 1 h. */
static void test_kid_and_defaults(void)
{
	char err[256], *pem = read_data("gcs_test_key.pem"),
	               *pub = read_data("gcs_test_key.pub.pem");
	char *file = key_file(NULL, "egress@proj.iam.gserviceaccount.com", pem, "0123abcd", NULL);
	egw_gcs_account_t *a = NULL;
	char *jwt = NULL, *part;

	CHECK(egw_gcs_account_parse(file, strlen(file), &a, err, sizeof(err)) == EGW_OK);
	if (a) {
		CHECK_STR(egw_gcs_account_token_uri(a), "https://oauth2.googleapis.com/token");
		jwt = egw_gcs_jwt_assertion(a, NULL, 1764928800, err, sizeof(err));
	}
	CHECK(jwt && verify(jwt, pub));
	if (jwt) {
		const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');

		part = decode_part(jwt, (size_t)(dot1 - jwt));
		CHECK_STR(part, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"0123abcd\"}");
		g_free(part);
		part = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
		CHECK_STR(part,
		          "{\"iss\":\"egress@proj.iam.gserviceaccount.com\","
		          "\"scope\":\"https://www.googleapis.com/auth/devstorage.read_write\","
		          "\"aud\":\"https://oauth2.googleapis.com/token\","
		          "\"exp\":1764932400,\"iat\":1764928800}");
		g_free(part);
		/* signed the same way twice: PKCS#1 v1.5 is deterministic */
		char *again = egw_gcs_jwt_assertion(a, NULL, 1764928800, err, sizeof(err));
		CHECK_STR(again, jwt);
		g_free(again);
	}
	g_free(jwt);
	egw_gcs_account_free(a);
	free(file);
	g_free(pub);
	g_free(pem);
}

static void test_token_request_body(void)
{
	char *body = egw_gcs_token_request_body(GOOGLE_HEADER64 "." GOOGLE_CLAIMS64 ".c2ln-_");

	CHECK_STR(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
	                "&assertion=" GOOGLE_HEADER64 "." GOOGLE_CLAIMS64 ".c2ln-_");
	g_free(body);
}

static void test_token_response(void)
{
	static const char google[] =
	        "{\n  \"access_token\" : \"" GOOGLE_TOKEN "\",\n"
	        "  \"scope\" : \"https://www.googleapis.com/auth/prediction\",\n"
	        "  \"token_type\" : \"Bearer\",\n  \"expires_in\" : 3600\n}";
	static const struct {
		const char *json, *err;
	} bad[] = {
	        {"{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}",
	         "the token endpoint refused: invalid_grant (Invalid JWT Signature.)"},
	        {"{\"error\":\"invalid_scope\"}", "the token endpoint refused: invalid_scope"},
	        {"{\"expires_in\":3599,\"token_type\":\"Bearer\"}",
	         "token_response.access_token: is required"},
	        {"{\"access_token\":\"" GOOGLE_TOKEN "\",\"token_type\":\"Bearer\"}",
	         "token_response.expires_in: is required"},
	        {"{\"access_token\":\"" GOOGLE_TOKEN "\",\"expires_in\":0}",
	         "token_response.expires_in: must be an integer between 1 and 604800"},
	        {"{\"access_token\":\"" GOOGLE_TOKEN
	         "\",\"expires_in\":3599,\"token_type\":\"MAC\"}",
	         "token_response.token_type: must be Bearer"},
	        {"<html>502</html>", "token_response: not a JSON document"},
	        {"[]", "token_response: must be an object"},
	};
	egw_gcs_token_t t;
	char err[256];

	CHECK(egw_gcs_token_parse(google, strlen(google), &t, err, sizeof(err)) == EGW_OK);
	CHECK_STR(t.access_token, GOOGLE_TOKEN);
	CHECK(t.expires_in == 3600);
	egw_gcs_token_clear(&t);
	CHECK(t.access_token == NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(egw_gcs_token_parse(bad[i].json, strlen(bad[i].json), &t, err, sizeof(err)) ==
		      EGW_ERR_INVALID_REQUEST);
		CHECK_STR(err, bad[i].err);
		CHECK(t.access_token == NULL && !strstr(err, GOOGLE_TOKEN));
	}
}

/* A PEM of a freshly made key: RSA of bits, or EC P-256 when bits is 0;
 * encrypted with a passphrase when encrypt. */
static char *make_pem(int bits, int encrypt)
{
	EVP_PKEY *key = bits ? EVP_RSA_gen((unsigned)bits) : EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (key && PEM_write_bio_PrivateKey(bio, key, encrypt ? EVP_aes_256_cbc() : NULL,
	                                    encrypt ? (unsigned char *)"pass" : NULL,
	                                    encrypt ? 4 : 0, NULL, NULL) == 1) {
		len = BIO_get_mem_data(bio, &data);
		pem = g_strndup(data, (gsize)len);
	}
	BIO_free(bio);
	EVP_PKEY_free(key);
	return pem;
}

/* Checks that parsing file fails with want, quoting no part of the key. */
static void check_refused(const char *file, const char *want, const char *pem)
{
	egw_gcs_account_t *a = (egw_gcs_account_t *)&a;
	char err[256] = "";

	CHECK(egw_gcs_account_parse(file, strlen(file), &a, err, sizeof(err)) ==
	      EGW_ERR_INVALID_REQUEST);
	CHECK(a == NULL);
	CHECK_STR(err, want);
	CHECK(!strstr(err, "PRIVATE") && !strstr(err, "MII"));
	if (pem && strlen(pem) > 80) { /* no 16-byte run of the key's text */
		char run[17];

		for (size_t i = 28; i + 16 < strlen(pem); i += 16) {
			memcpy(run, pem + i, 16);
			run[16] = '\0';
			CHECK(!strstr(err, run));
		}
	}
}

static void test_account_refused(void)
{
	char *pem = read_data("gcs_test_key.pem"), *small = make_pem(1024, 0), *ec = make_pem(0, 0);
	char *locked = make_pem(2048, 1), *file;
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nMIIBAAAAsecretAAAA\n"
	                              "-----END PRIVATE KEY-----\n";
	static const char *const E = "x@proj.iam.gserviceaccount.com";
	struct {
		char *file;
		const char *want, *pem;
	} cases[] = {
	        {key_file(NULL, NULL, pem, "k", NULL), "service_account.client_email: is required",
	         pem},
	        {key_file(NULL, E, NULL, "k", NULL), "service_account.private_key: is required",
	         NULL},
	        {key_file(NULL, E, "", "k", NULL), "service_account.private_key: must not be empty",
	         NULL},
	        {key_file("authorized_user", E, pem, "k", NULL),
	         "service_account.type: must be one of service_account", pem},
	        {key_file(NULL, E, pem, "k", "ftp://x/token"),
	         "service_account.token_uri: must be an http(s) URL", pem},
	        {key_file(NULL, E, garbage, "k", NULL),
	         "service_account.private_key: not an unencrypted PEM private key", garbage},
	        {key_file(NULL, E, locked, "k", NULL),
	         "service_account.private_key: not an unencrypted PEM private key", locked},
	        {key_file(NULL, E, ec, "k", NULL),
	         "service_account.private_key: not an RSA key (RS256 needs one)", ec},
	        {key_file(NULL, E, small, "k", NULL),
	         "service_account.private_key: an RSA key of 1024 bits, less than 2048", small},
	};
	char err[256];

	CHECK(small && ec && locked);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_refused(cases[i].file, cases[i].want, cases[i].pem);
		free(cases[i].file);
	}
	file = g_strdup_printf("{\"client_email\": \"%s\", \"private_key\": \"%.40s", E, pem + 200);
	check_refused(file, "service_account: not a JSON document (line 1)", pem);
	g_free(file);
	CHECK(egw_gcs_rs256_sign_pem(garbage, "x", err, sizeof(err)) == NULL);
	CHECK_STR(err, "private key: not an unencrypted PEM private key");
	g_free(locked);
	g_free(ec);
	g_free(small);
	g_free(pem);
}

/* A V4 signed URL; the expected one was made independently (Python:
 * the canonical request and string to sign as Google documents them;
 * `openssl dgst -sha256 -sign` with the same key: PKCS#1 v1.5 signatures
 * are deterministic). */
static void test_signed_url(void)
{
	char err[256], *pem = read_data("gcs_test_key.pem");
	char *file = key_file(NULL, "egress@proj.iam.gserviceaccount.com", pem, NULL, NULL);
	egw_gcs_account_t *a = NULL;
	char *url = NULL;

	CHECK(egw_gcs_account_parse(file, strlen(file), &a, err, sizeof(err)) == EGW_OK);
	if (a) {
		url = egw_gcs_signed_url(a, "https", "storage.googleapis.com",
		                         "/rec-bucket/1234/EG 1.mkv", 1764928800, 600, err,
		                         sizeof(err));
		CHECK(!egw_gcs_signed_url(a, "https", "storage.googleapis.com", "/b/k", 0, 604801,
		                          err, sizeof(err)));
	}
	CHECK_STR(url,
	          "https://storage.googleapis.com/rec-bucket/1234/EG%201.mkv?X-Goog-Algorithm=GOOG4-RSA-SHA"
	          "256&X-Goog-Credential=egress%40proj.iam.gserviceaccount.com%2F20251205%2Fauto%2Fstorage%"
	          "2Fgoog4_request&X-Goog-Date=20251205T100000Z&X-Goog-Expires=600&X-Goog-SignedHeaders=hos"
	          "t&X-Goog-Signature=503282a131a7c573cf5b2302c090b973400e3af58eccec87a6e0666e2eef0aa53e513"
	          "b94a6b8736394d37599bcc3868ac780bdf13032855b5b0d53c5056dfcf71628aca566ee445f51d399f40c49f"
	          "28c940a9bfc65313133810fa7ff08a87412fcbff2e8736c8d615427bcb39321ab6d1b3216f37c3c66e2f17f4"
	          "7f627eef2005bf1a1299b4fe0b348b1c7438ef18096ef13ab9f7dd4d352daec7ebfb44cd9a8e9fd66269d3dc"
	          "1fd28d274a9e18fd8e6cb46942b9d74d57f5ffb3b2139398c527c6ff350bb73ad5f5ca06b11bef2c5574619c"
	          "826c31b04b3d446a4869e1d1832e00d1b0c38c72b3a2c54033a0209f89f037c42cbbbe06f4eb220cc35bf7bb"
	          "5e0");
	g_free(url);
	egw_gcs_account_free(a);
	free(file);
	g_free(pem);
}

int main(void)
{
	test_signed_url();
	test_rfc7515_a2();
	test_google_example_claims();
	test_kid_and_defaults();
	test_token_request_body();
	test_token_response();
	test_account_refused();
	return CHECK_DONE();
}
