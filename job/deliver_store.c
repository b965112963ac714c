/* The store of a delivery (see deliver_int.h): the journal's storage
 * settings, what they leave out taken from the worker's environment the
 * way each provider's own tools do (AWS_*, AZURE_STORAGE_KEY). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/deliver_int.h"
#include "storage/azure.h"
#include "storage/gcs.h"
#include "storage/s3.h"

#define GCS_ENDPOINT "https://storage.googleapis.com"

static const char *env(const char *a, const char *b)
{
	const char *v = getenv(a);
	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : NULL;
}

static egw_err_t no_credentials(const char *what, char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "storage: no credentials: %s", what);
	return EGW_ERR_INVALID_REQUEST;
}

static egw_err_t s3_store(egw_delivery_t *d, json_t *s, char *errstr, size_t errstr_size)
{
	egw_s3_conf_t c = {
	        .bucket = jstr(s, "bucket"),
	        .region = jstr(s, "region") ? jstr(s, "region")
	                                    : env("AWS_REGION", "AWS_DEFAULT_REGION"),
	        .endpoint = jstr(s, "endpoint") ? jstr(s, "endpoint")
	                                        : env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
	        .access_key = jstr(s, "access_key"),
	        .secret_key = jstr(s, "secret_key"),
	        .session_token = jstr(s, "session_token"),
	        .path_style = json_is_true(json_object_get(s, "path_style")),
	};
	if (!c.bucket) {
		snprintf(errstr, errstr_size, "storage.bucket: missing from the spool journal");
		return EGW_ERR_INVALID_REQUEST;
	}
	if (!g_strcmp0(jstr(s, "kind"), "gcs")) { /* its XML API, with HMAC keys */
		c.scheme = "gs";
		c.region = jstr(s, "region") ? jstr(s, "region") : "auto";
		c.endpoint = jstr(s, "endpoint") ? jstr(s, "endpoint") : GCS_ENDPOINT;
		c.path_style = 1;
		if (!c.access_key)
			return no_credentials(
			        "give the bucket's HMAC keys as storage.access_key and "
			        "storage.secret_key, or a service account key as "
			        "storage.credentials_json",
			        errstr, errstr_size);
	}
	if (!c.access_key) {
		c.access_key = env("AWS_ACCESS_KEY_ID", NULL);
		c.secret_key = env("AWS_SECRET_ACCESS_KEY", NULL);
		c.session_token = env("AWS_SESSION_TOKEN", NULL);
	}
	if (!c.access_key || !c.secret_key)
		return no_credentials("give storage.access_key and storage.secret_key, or set "
		                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the worker",
		                      errstr, errstr_size);
	d->store = egw_store_s3_new(d->http, &c);
	return EGW_OK;
}

static egw_err_t azure_store(egw_delivery_t *d, json_t *s, char *errstr, size_t errstr_size)
{
	egw_azure_conf_t c = {
	        .account = jstr(s, "account"),
	        .account_key = jstr(s, "secret_key") ? jstr(s, "secret_key")
	                                             : env("AZURE_STORAGE_KEY", NULL),
	        .container = jstr(s, "container"),
	        .endpoint = jstr(s, "endpoint"),
	};
	d->store = egw_store_azure_new(d->http, &c, errstr, errstr_size);
	return d->store ? EGW_OK : EGW_ERR_INVALID_REQUEST;
}

static egw_err_t gcs_store(egw_delivery_t *d, json_t *s, char *errstr, size_t errstr_size)
{
	egw_gcs_conf_t c = {
	        .bucket = jstr(s, "bucket"),
	        .endpoint = jstr(s, "endpoint") ? jstr(s, "endpoint") : GCS_ENDPOINT,
	        .credentials_json = jstr(s, "credentials_json"),
	        .log_id = d->egress_id,
	};
	d->store = egw_store_gcs_new(d->http, &c, errstr, errstr_size);
	return d->store ? EGW_OK : EGW_ERR_INVALID_REQUEST;
}

egw_err_t egw_delivery_resolve(egw_delivery_t *d, char *errstr, size_t errstr_size)
{
	json_t *s = json_object_get(d->journal, "storage");
	const char *kind = jstr(s, "kind");
	egw_err_t err;

	d->prefix = jstr(s, "prefix") ? jstr(s, "prefix") : "";
	d->presign_s = (int)json_integer_value(json_object_get(s, "presign_s"));
	if (!d->http)
		d->http = egw_http_new(NULL);
	if (!g_strcmp0(kind, "azure"))
		err = azure_store(d, s, errstr, errstr_size);
	else if (!g_strcmp0(kind, "gcs") && jstr(s, "credentials_json"))
		err = gcs_store(d, s, errstr, errstr_size);
	else
		err = s3_store(d, s, errstr, errstr_size);
	return err;
}
