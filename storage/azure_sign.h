/* Azure Blob Storage requests authorized with Shared Key (what libcurl
 * cannot do): the string to sign of the 2009-09-19-and-later format, its
 * canonicalized headers and resource, and the HMAC-SHA256 of it under the
 * account key, as Microsoft documents it ("Authorize with Shared Key").
 * Pure: GLib only, no network.
 * locality: any thread. */
#ifndef EGW_AZURE_SIGN_H
#define EGW_AZURE_SIGN_H

#include <stddef.h>
#include <time.h>

typedef struct egw_azure_header {
	const char *name;  /* any case: "Content-Type", "x-ms-date" */
	const char *value; /* as sent */
} egw_azure_header_t;

typedef struct egw_azure_request {
	const char *method;  /* upper case: "PUT" */
	const char *account; /* the primary account name (never "-secondary") */
	/* The URL's path exactly as sent, encoded: "/mycontainer/a%20b.mp4"
	 * (with Azurite's path-style URLs it starts with the account again). */
	const char *path;
	/* The URL's query exactly as sent, without '?'; NULL or "" when none.
	 * A literal '+' is refused: write %2B (or %20 for a space). */
	const char *query;
	/* Every header the request sends. The standard ones (Content-Length,
	 * Content-Type, Content-MD5, Range, ...) fill their positions of the
	 * string to sign, x-ms-* ones its canonicalized headers; others are
	 * not signed. Each may appear once. With x-ms-date, Date is not signed
	 * (Microsoft: "construct the signature with an empty value for the
	 * Date header"), so send x-ms-date and no Date. */
	const egw_azure_header_t *headers;
	size_t n_headers;
} egw_azure_request_t;

/* The CanonicalizedHeaders element: the x-ms-* headers, names in lower case,
 * sorted, values with runs of linear white space outside quoted strings
 * made one space and trimmed, each line ending in '\n'. "" when there is
 * none. g_free it; NULL with errstr when a header appears twice, or when
 * two names first differ at a '-' or '_' ("x-ms-meta-a_b", "x-ms-meta-a1"):
 * the service orders those as .NET's culture comparison does, not by
 * bytes, and such names are refused rather than signed in a wrong order. */
char *egw_azure_canonical_headers(const egw_azure_header_t *headers, size_t n, char *errstr,
                                  size_t errstr_size);

/* The CanonicalizedResource element: "/" account path, then one
 * "\nname:value" line per query parameter (names in lower case, decoded,
 * sorted; the sorted values of a repeated name joined by commas). g_free
 * it; NULL with errstr for a query that cannot be canonicalized (bad
 * percent-encoding, a literal '+', a control character once decoded). */
char *egw_azure_canonical_resource(const char *account, const char *path, const char *query,
                                   char *errstr, size_t errstr_size);

/* The whole string to sign (Shared Key, Blob service 2009-09-19 and
 * later; Content-Length empty when 0, as 2015-02-21 and later want it).
 * g_free it; NULL with errstr when the request cannot be signed. */
char *egw_azure_string_to_sign(const egw_azure_request_t *r, char *errstr, size_t errstr_size);

/* The value of the Authorization header, "SharedKey account:signature",
 * the signature being base64(HMAC-SHA256(string to sign, the decoded
 * account_key)). account_key (secret) is the base64 key the Azure portal
 * shows. g_free it; NULL with errstr (which never quotes the key) for a key
 * that is not base64 or a request that cannot be signed. */
char *egw_azure_authorization(const egw_azure_request_t *r, const char *account_key, char *errstr,
                              size_t errstr_size);

/* Service SAS for reading one blob (Microsoft: "Create a service SAS",
 * string to sign of version 2020-12-06 and later). */
#define EGW_AZURE_SAS_VERSION "2020-12-06"

/* The string to sign of a SAS that lets its bearer read (sp=r) the blob
 * (sr=b, its name not encoded) until expiry ("2026-12-05T08:00:00Z"), no
 * start, no IP or protocol restriction (g_free it). */
char *egw_azure_sas_string_to_sign(const char *account, const char *container, const char *blob,
                                   const char *expiry);
/* That SAS as a query string, "sv=..&sr=b&sp=r&se=..&sig=.." (g_free it);
 * NULL with errstr (never quoting the key) for a key that is not base64. */
char *egw_azure_blob_sas(const char *account, const char *account_key, const char *container,
                         const char *blob, time_t expiry, char *errstr, size_t errstr_size);

#endif
