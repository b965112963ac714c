/* Google service-account OAuth 2.0 (what libcurl cannot do): the service
 * account's JSON key file, the RS256-signed JWT assertion Google's
 * "Using OAuth 2.0 for Server to Server Applications" asks for, the form
 * body that trades it for an access token, and the token endpoint's
 * answer. Pure: jansson, GLib and OpenSSL's libcrypto, no network.
 * locality: any thread; an account is read-only once parsed. */
#ifndef EGW_GCS_JWT_H
#define EGW_GCS_JWT_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"

#define EGW_GCS_SCOPE_RW "https://www.googleapis.com/auth/devstorage.read_write"
#define EGW_GCS_TOKEN_URI "https://oauth2.googleapis.com/token"
#define EGW_GCS_JWT_LIFETIME_S 3600 /* Google's maximum */

typedef struct egw_gcs_account egw_gcs_account_t; /* holds the private key */

/* Parses a service account's JSON key file (len bytes of text): client_email
 * and private_key (PEM, an RSA key of 2048 bits or more) are required;
 * private_key_id becomes the JWT's "kid" when present; token_uri defaults
 * to EGW_GCS_TOKEN_URI; a "type" other than "service_account" is refused.
 * EGW_ERR_INVALID_REQUEST with errstr naming the field
 * ("service_account.private_key: is required"); messages never quote a
 * value of the file. */
egw_err_t egw_gcs_account_parse(const char *json, size_t len, egw_gcs_account_t **out, char *errstr,
                                size_t errstr_size);
const char *egw_gcs_account_email(const egw_gcs_account_t *a);
const char *egw_gcs_account_token_uri(const egw_gcs_account_t *a);
/* Wipes and frees; NULL is fine. */
void egw_gcs_account_free(egw_gcs_account_t *a);

/* The signed JWT assertion (g_free it): header {"alg":"RS256","typ":"JWT"}
 * (plus "kid"), claims iss (client_email), scope (NULL or "":
 * EGW_GCS_SCOPE_RW), aud (token_uri), exp (now + EGW_GCS_JWT_LIFETIME_S)
 * and iat (now), each part base64url without padding. NULL with errstr
 * when signing fails. */
char *egw_gcs_jwt_assertion(const egw_gcs_account_t *a, const char *scope, time_t now, char *errstr,
                            size_t errstr_size);

/* The application/x-www-form-urlencoded body of the token request (POST to
 * the token_uri) for an assertion (g_free it): grant_type jwt-bearer and the
 * assertion. */
char *egw_gcs_token_request_body(const char *assertion);

typedef struct egw_gcs_token {
	char *access_token; /* secret; malloc'ed */
	int expires_in;     /* seconds from the answer */
} egw_gcs_token_t;

/* Reads the token endpoint's JSON answer (len bytes). EGW_ERR_INVALID_REQUEST
 * with errstr when it is an OAuth error (errstr gives its code:
 * "invalid_grant") or has no usable access_token / expires_in (errstr
 * names the field). Never quotes the token. */
egw_err_t egw_gcs_token_parse(const char *json, size_t len, egw_gcs_token_t *out, char *errstr,
                              size_t errstr_size);
/* Wipes and frees the token's fields; the struct itself is the caller's. */
void egw_gcs_token_clear(egw_gcs_token_t *t);

#define EGW_GCS_SIGNED_URL_MAX_S 604800 /* Cloud Storage's limit: 7 days */

/* A V4 signed URL (GOOG4-RSA-SHA256, signed with the account's key: the
 * "V4 signing process" Google documents) that GETs the object at path
 * ("/bucket/key", not encoded) on host ("storage.googleapis.com") until
 * now + expires_s. g_free it; NULL with errstr when it cannot be made. */
char *egw_gcs_signed_url(const egw_gcs_account_t *a, const char *scheme, const char *host,
                         const char *path, time_t now, int expires_s, char *errstr,
                         size_t errstr_size);

/* Building blocks, exposed for tests against published vectors. */

/* base64url of len bytes, without padding (RFC 7515 section 2); g_free it. */
char *egw_gcs_base64url(const void *data, size_t len);

/* The RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of signing_input
 * under the PEM private key, base64url without padding; g_free it. NULL
 * with errstr (which never quotes the key) when the key is unusable. */
char *egw_gcs_rs256_sign_pem(const char *pem, const char *signing_input, char *errstr,
                             size_t errstr_size);

#endif
