/* storage/azure_sign: Shared Key against Microsoft's documented examples
 * ("Authorize with Shared Key", learn.microsoft.com/rest/api/storageservices/
 * authorize-with-shared-key): the strings to sign of its Get Container
 * Metadata and zero-length PUT examples, its canonicalized headers and
 * resources; signatures with Azurite's published account key; and
 * requests or keys that cannot be signed.
 *
 * Microsoft's page publishes no key with its example signature
 * ("ctzMq410...", shown for two different strings), so the signatures
 * here were computed once, independently, with the key Microsoft publishes
 * for the Azurite emulator (devstoreaccount1), over the strings to sign
 * written out below:
 *   printf '<string to sign>' | openssl dgst -sha256 -mac HMAC \
 *     -macopt hexkey:$(printf '%s' "$AZURITE_KEY" | base64 -d | xxd -p -c256) \
 *     -binary | base64
 * and the same requests signed by Microsoft's own SDK (@azure/storage-blob
 * 12.32.0, StorageSharedKeyCredentialPolicyV2 with x-ms-date fixed) gave
 * the same Authorization values. */
#include <glib.h>
#include <string.h>

#include "storage/azure_sign.h"
#include "tests/unit/check.h"

#define AZURITE_KEY                                                                                \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"               \
	"KBHBeksoGMGw=="

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The documented example: Get Container Metadata, x-ms-version 2009-09-19. */
static void test_doc_get_container_metadata(void)
{
	const egw_azure_header_t headers[] = {
	        {"x-ms-version", "2009-09-19"},
	        {"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
	};
	egw_azure_request_t r = {
	        .method = "GET",
	        .account = "myaccount",
	        .path = "/mycontainer",
	        .query = "restype=container&comp=metadata&timeout=20",
	        .headers = headers,
	        .n_headers = N(headers),
	};
	char err[256], *s = egw_azure_string_to_sign(&r, err, sizeof(err));

	CHECK_STR(s, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
	             "x-ms-version:2009-09-19\n/myaccount/mycontainer\ncomp:metadata\n"
	             "restype:container\ntimeout:20");
	g_free(s);
}

/* The documented zero-length PUT (Create Container, 2015-02-21): the
 * Content-Length line is empty. Signed with Azurite's key. */
static void test_doc_put_zero_length(void)
{
	const egw_azure_header_t headers[] = {
	        {"x-ms-version", "2015-02-21"},
	        {"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"},
	        {"Content-Length", "0"},
	};
	egw_azure_request_t r = {
	        .method = "PUT",
	        .account = "myaccount",
	        .path = "/mycontainer",
	        .query = "restype=container&timeout=30",
	        .headers = headers,
	        .n_headers = N(headers),
	};
	char err[256], *s = egw_azure_string_to_sign(&r, err, sizeof(err)), *auth;

	CHECK_STR(s, "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
	             "x-ms-version:2015-02-21\n/myaccount/mycontainer\nrestype:container\n"
	             "timeout:30");
	auth = egw_azure_authorization(&r, AZURITE_KEY, err, sizeof(err));
	CHECK_STR(auth, "SharedKey myaccount:xGXG0xDZ4LffNUrgvdRqISw8BZe4MJz8EbGZmcCE038=");
	g_free(auth);
	g_free(s);
}

/* A Put Blob to Azurite (path-style URL: the account twice), with standard
 * headers in their places and unsigned ones left out. */
static void test_put_blob_azurite(void)
{
	const egw_azure_header_t headers[] = {
	        {"Content-Type", "video/mp4"},
	        {"Content-Length", "1024"},
	        {"Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="},
	        {"x-ms-version", "2021-08-06"},
	        {"X-MS-Blob-Type", "BlockBlob"},
	        {"x-ms-date", "Fri, 05 Dec 2025 10:00:00 GMT"},
	        {"x-ms-meta-room", "  room \t 1 "},
	        {"Expect", ""},
	        {"User-Agent", "egress"},
	};
	egw_azure_request_t r = {
	        .method = "PUT",
	        .account = "devstoreaccount1",
	        .path = "/devstoreaccount1/egress/room%201/EG_1.mp4",
	        .headers = headers,
	        .n_headers = N(headers),
	};
	char err[256], *s = egw_azure_string_to_sign(&r, err, sizeof(err)), *auth;

	CHECK_STR(s, "PUT\n\n\n1024\nXrY7u+Ae7tCTyyK7j1rNww==\nvideo/mp4\n\n\n\n\n\n\n"
	             "x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 05 Dec 2025 10:00:00 GMT\n"
	             "x-ms-meta-room:room 1\nx-ms-version:2021-08-06\n"
	             "/devstoreaccount1/devstoreaccount1/egress/room%201/EG_1.mp4");
	auth = egw_azure_authorization(&r, AZURITE_KEY, err, sizeof(err));
	CHECK_STR(auth, "SharedKey devstoreaccount1:UTsojBtN6P9sd2qXzkum5P+zqaqe1buRzt5EoZy1wzo=");
	g_free(auth);
	g_free(s);
}

/* Date is signed only without x-ms-date; the other standard headers keep
 * their positions. */
static void test_standard_positions(void)
{
	egw_azure_header_t headers[] = {
	        {"Range", "bytes=0-99"},
	        {"If-Match", "\"0x8D\""},
	        {"Date", "Fri, 05 Dec 2025 10:00:00 GMT"},
	        {"Content-Encoding", "gzip"},
	        {"Content-Language", "en"},
	        {"If-None-Match", "*"},
	        {"If-Modified-Since", "a"},
	        {"If-Unmodified-Since", "b"},
	};
	egw_azure_request_t r = {.method = "GET",
	                         .account = "a",
	                         .path = "/c/b",
	                         .headers = headers,
	                         .n_headers = 8};
	char err[256], *s = egw_azure_string_to_sign(&r, err, sizeof(err));

	CHECK_STR(s, "GET\ngzip\nen\n\n\n\nFri, 05 Dec 2025 10:00:00 GMT\na\n\"0x8D\"\n*\nb\n"
	             "bytes=0-99\n/a/c/b");
	g_free(s);
	headers[0] = (egw_azure_header_t){"x-ms-date", "Fri, 05 Dec 2025 10:00:01 GMT"};
	s = egw_azure_string_to_sign(&r, err, sizeof(err));
	CHECK_STR(s, "GET\ngzip\nen\n\n\n\n\na\n\"0x8D\"\n*\nb\n\n"
	             "x-ms-date:Fri, 05 Dec 2025 10:00:01 GMT\n/a/c/b");
	g_free(s);
}

/* The documented canonicalized-headers example, and the rules: names in
 * lower case and sorted, white space folded outside quoted strings, empty
 * values kept. */
static void test_canonical_headers(void)
{
	const egw_azure_header_t doc[] = {
	        {"x-ms-version", "2014-02-14"},
	        {"x-ms-date", "Sat, 21 Feb 2015 00:48:38 GMT"},
	        {"Content-Type", "text/plain"},
	};
	const egw_azure_header_t rules[] = {
	        {"X-Ms-Meta-B", "one\t  two  \"a   b\"  three"},
	        {"x-ms-meta-a", ""},
	        {"x-msfoo", "not signed"},
	};
	char err[256], *s;

	s = egw_azure_canonical_headers(doc, N(doc), err, sizeof(err));
	CHECK_STR(s, "x-ms-date:Sat, 21 Feb 2015 00:48:38 GMT\nx-ms-version:2014-02-14\n");
	g_free(s);
	s = egw_azure_canonical_headers(rules, N(rules), err, sizeof(err));
	CHECK_STR(s, "x-ms-meta-a:\nx-ms-meta-b:one two \"a   b\" three\n");
	g_free(s);
	s = egw_azure_canonical_headers(NULL, 0, err, sizeof(err));
	CHECK_STR(s, "");
	g_free(s);
}

/* Names whose byte order may not be the service's are refused; names that
 * differ at a letter or digit, or where one starts the other, are fine. */
static void test_header_order(void)
{
	const egw_azure_header_t underscore[] = {{"x-ms-meta-a_b", "1"}, {"x-ms-meta-a1", "2"}};
	const egw_azure_header_t hyphen[] = {{"x-ms-meta-a-z", "1"}, {"x-ms-meta-ab", "2"}};
	const egw_azure_header_t fine[] = {
	        {"x-ms-copy-source-authorization", "1"},
	        {"x-ms-copy-source", "2"},
	        {"x-ms-blob-type", "3"},
	        {"x-ms-blob-content-type", "4"},
	};
	char err[256], *s;

	CHECK(egw_azure_canonical_headers(underscore, 2, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "x-ms-meta-a1 and x-ms-meta-a_b") != NULL);
	CHECK(egw_azure_canonical_headers(hyphen, 2, err, sizeof(err)) == NULL);
	s = egw_azure_canonical_headers(fine, N(fine), err, sizeof(err));
	CHECK_STR(s, "x-ms-blob-content-type:4\nx-ms-blob-type:3\nx-ms-copy-source:2\n"
	             "x-ms-copy-source-authorization:1\n");
	g_free(s);
}

/* The documented canonicalized resources (List Blobs' repeated include;
 * the doc's URL says /container but its result /mycontainer: the path is
 * taken as given here) and the query rules. */
static void test_canonical_resource(void)
{
	char err[256], *s;

	s = egw_azure_canonical_resource("myaccount", "/mycontainer",
	                                 "restype=container&comp=metadata", err, sizeof(err));
	CHECK_STR(s, "/myaccount/mycontainer\ncomp:metadata\nrestype:container");
	g_free(s);
	s = egw_azure_canonical_resource("myaccount", "/mycontainer",
	                                 "restype=container&comp=list&include=snapshots"
	                                 "&include=metadata&include=uncommittedblobs",
	                                 err, sizeof(err));
	CHECK_STR(s, "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,"
	             "uncommittedblobs\nrestype:container");
	g_free(s);
	/* the secondary location signs as the primary: the caller passes the
	 * primary account name */
	s = egw_azure_canonical_resource("myaccount", "/mycontainer/myblob", NULL, err,
	                                 sizeof(err));
	CHECK_STR(s, "/myaccount/mycontainer/myblob");
	g_free(s);
	/* names in lower case, names and values decoded, empty parts skipped,
	 * a name without '=' has an empty value; the path stays encoded */
	s = egw_azure_canonical_resource("acc", "/c/a%20b", "Comp=block&&blockid=QUJD%3D%3D&flag",
	                                 err, sizeof(err));
	CHECK_STR(s, "/acc/c/a%20b\nblockid:QUJD==\ncomp:block\nflag:");
	g_free(s);
}

static void test_refused(void)
{
	const egw_azure_header_t dup[] = {{"Content-Type", "a"}, {"content-type", "b"}};
	const egw_azure_header_t dup_ms[] = {{"x-ms-date", "a"}, {"X-MS-DATE", "b"}};
	const egw_azure_header_t newline[] = {{"x-ms-meta-a", "a\r\nx-ms-evil: 1"}};
	egw_azure_request_t r = {.method = "GET", .account = "acc", .path = "/c/b"};
	char err[256];

	CHECK(egw_azure_canonical_resource("acc", "/c", "a=%zz", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "percent-encoding") != NULL);
	CHECK(egw_azure_canonical_resource("acc", "/c", "a=%0a", err, sizeof(err)) == NULL);
	CHECK(egw_azure_canonical_resource("acc", "/c", "a=%4", err, sizeof(err)) == NULL);
	CHECK(egw_azure_canonical_resource("acc", "/c", "prefix=a+b", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "%2B") != NULL);
	CHECK(egw_azure_canonical_resource("acc", "/c", "=x", err, sizeof(err)) == NULL);
	CHECK(egw_azure_canonical_resource("acc", "c", NULL, err, sizeof(err)) == NULL);
	CHECK(egw_azure_canonical_resource("", "/c", NULL, err, sizeof(err)) == NULL);

	r.headers = dup;
	r.n_headers = 2;
	CHECK(egw_azure_string_to_sign(&r, err, sizeof(err)) == NULL);
	CHECK_STR(err, "request header Content-Type appears twice");
	r.headers = dup_ms;
	CHECK(egw_azure_string_to_sign(&r, err, sizeof(err)) == NULL);
	CHECK_STR(err, "request header x-ms-date appears twice");
	r.headers = newline;
	r.n_headers = 1;
	CHECK(egw_azure_string_to_sign(&r, err, sizeof(err)) == NULL);
	r.headers = NULL;
	r.n_headers = 0;
	r.method = "get";
	CHECK(egw_azure_string_to_sign(&r, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "upper-case method") != NULL);
}

/* A key that is not base64 fails clearly, and the message never quotes it. */
static void test_bad_key(void)
{
	static const char *const bad[] = {
	        "",
	        "not base64 at all!",
	        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
	        "KBHBeksoGMGw",
	        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq-K1SZFPTOtr_"
	        "KBHBeksoGMGw==",
	        "Eby8=dM02xNO",
	        "====",
	        NULL,
	};
	egw_azure_request_t r = {.method = "GET", .account = "acc", .path = "/c/b"};
	char err[256];

	for (size_t i = 0; i < N(bad); i++) {
		err[0] = '\0';
		CHECK(egw_azure_authorization(&r, bad[i], err, sizeof(err)) == NULL);
		CHECK_STR(err,
		          "the Azure account key is not base64 (the key as the portal shows it)");
		CHECK(!bad[i] || !bad[i][0] || !strstr(err, bad[i]));
		CHECK(!strstr(err, "Eby8"));
	}
	/* a good key with a request that cannot be signed: the request's error */
	r.path = "no-slash";
	CHECK(egw_azure_authorization(&r, AZURITE_KEY, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "path") != NULL && !strstr(err, "Eby8"));
}

/* A service SAS for one blob (read only), its signature computed
 * independently (Python's hmac) for this string to sign; Azurite accepts
 * such URLs (integration.azure). */
static void test_blob_sas(void)
{
	char err[256];
	char *sts = egw_azure_sas_string_to_sign("devstoreaccount1", "rec", "a b.mkv",
	                                         "2026-12-05T08:00:00Z");
	CHECK_STR(sts, "r\n\n2026-12-05T08:00:00Z\n/blob/devstoreaccount1/rec/a b.mkv\n\n\n\n"
	               "2020-12-06\nb\n\n\n\n\n\n\n");
	char *q = egw_azure_blob_sas("devstoreaccount1", AZURITE_KEY, "rec", "a b.mkv",
	                             (time_t)1796457600, err, sizeof(err));
	CHECK_STR(q, "sv=2020-12-06&sr=b&sp=r&se=2026-12-05T08%3A00%3A00Z"
	             "&sig=B1gL1sbXZlD1DkGu9cN2nlA%2FUQ%2BB3fOpcpnkK9cJfsE%3D");
	CHECK(egw_azure_blob_sas("devstoreaccount1", "not base64!", "rec", "x", 0, err,
	                         sizeof(err)) == NULL);
	CHECK(strstr(err, "not base64") && !strstr(err, "not base64!"));
	g_free(q);
	g_free(sts);
}

int main(void)
{
	test_blob_sas();
	test_doc_get_container_metadata();
	test_doc_put_zero_length();
	test_put_blob_azurite();
	test_standard_positions();
	test_canonical_headers();
	test_header_order();
	test_canonical_resource();
	test_refused();
	test_bad_key();
	return CHECK_DONE();
}
