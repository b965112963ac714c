/* storage/presign: S3 presigned URLs against AWS's own example
 * ("Authenticating Requests: Using Query Parameters (AWS Signature Version
 * 4)": examplebucket/test.txt, 24 May 2013, valid 86400 s), session
 * tokens, encoding, and requests that cannot be signed. */
#include <glib.h>
#include <string.h>

#include "storage/presign.h"
#include "tests/unit/check.h"

#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static egw_s3_presign_t example(void)
{
	return (egw_s3_presign_t){
	        .method = "GET",
	        .scheme = "https",
	        .host = "examplebucket.s3.amazonaws.com",
	        .path = "/test.txt",
	        .region = "us-east-1",
	        .access_key = "AKIAIOSFODNN7EXAMPLE",
	        .secret_key = EXAMPLE_SECRET,
	        .now = 1369353600, /* 2013-05-24T00:00:00Z */
	        .expires_s = 86400,
	};
}

static void test_aws_example(void)
{
	egw_s3_presign_t p = example();
	char err[256];
	char *url = egw_s3_presign(&p, err, sizeof(err));

	CHECK_STR(
	        url,
	        "https://examplebucket.s3.amazonaws.com/test.txt"
	        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
	        "&X-Amz-Signature="
	        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	g_free(url);
}

static void test_token_and_encoding(void)
{
	egw_s3_presign_t p = example();
	char err[256], *url, *plain;

	p.scheme = "http";
	p.host = "127.0.0.1:4569";
	p.path = "/bucket/room 1/EG_1+a.mp4";
	p.session_token = "tok/en=";
	url = egw_s3_presign(&p, err, sizeof(err));
	CHECK(url && g_str_has_prefix(url, "http://127.0.0.1:4569/bucket/room%201/EG_1%2Ba.mp4?"));
	/* sorted: the token before SignedHeaders, encoded */
	CHECK(url && strstr(url, "&X-Amz-Expires=86400&X-Amz-Security-Token=tok%2Fen%3D"
	                         "&X-Amz-SignedHeaders=host&X-Amz-Signature="));
	/* the token is signed: without it the signature differs */
	p.session_token = NULL;
	plain = egw_s3_presign(&p, err, sizeof(err));
	CHECK(plain && url &&
	      strcmp(strstr(plain, "X-Amz-Signature="), strstr(url, "X-Amz-Signature=")));
	CHECK(url && !strstr(url, EXAMPLE_SECRET) && !strstr(url, "EXAMPLEKEY"));
	g_free(url);
	g_free(plain);

	plain = egw_aws_uri_encode("a-b_c.d~e/f g*h", 1);
	CHECK_STR(plain, "a-b_c.d~e/f%20g%2Ah");
	g_free(plain);
	plain = egw_aws_uri_encode("a/b", 0);
	CHECK_STR(plain, "a%2Fb");
	g_free(plain);
}

static void test_refused(void)
{
	egw_s3_presign_t p = example();
	char err[256];

	p.expires_s = EGW_PRESIGN_MAX_S + 1;
	CHECK(egw_s3_presign(&p, err, sizeof(err)) == NULL);
	CHECK_STR(err, "a presigned URL lasts 1 to 604800 s, not 604801");
	p = example();
	p.secret_key = "";
	CHECK(egw_s3_presign(&p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "keys") != NULL);
	p = example();
	p.path = "test.txt";
	CHECK(egw_s3_presign(&p, err, sizeof(err)) == NULL);
}

int main(void)
{
	test_aws_example();
	test_token_and_encoding();
	test_refused();
	return CHECK_DONE();
}
