/* Status events and log redaction. */
#include <jansson.h>
#include <string.h>

#include "tests/unit/check.h"
#include "base/log.h"
#include "contract/status.h"

int main(void)
{
	egw_status_t st;
	memset(&st, 0, sizeof(st));
	strcpy(st.egress_id, "EG_1");
	strcpy(st.worker_id, "w1");

	json_t *ev = egw_status_event(&st, "starting", NULL, NULL, EGW_OK, NULL);
	CHECK_STR(json_string_value(json_object_get(ev, "status")), "starting");
	CHECK(json_is_null(json_object_get(ev, "error")));
	CHECK(json_is_null(json_object_get(ev, "started_at")));
	CHECK(json_array_size(json_object_get(ev, "outputs")) == 0);
	CHECK(strlen(json_string_value(json_object_get(ev, "time"))) == 24);
	json_decref(ev);

	json_t *outs = json_pack("[{s:s}]", "kind", "file");
	json_t *det = json_pack("{s:s, s:s}", "reason", "x", "status", "not-overridden");
	ev = egw_status_event(&st, "failed", outs, det, EGW_ERR_NOT_FOUND, "alice is absent");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "error"), "code")),
		  "not_found");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "error"), "message")),
		  "alice is absent");
	CHECK_STR(json_string_value(json_object_get(ev, "reason")), "x");
	CHECK_STR(json_string_value(json_object_get(ev, "status")), "failed");
	CHECK(json_array_size(json_object_get(ev, "outputs")) == 1);
	json_decref(ev);
	json_decref(outs);
	json_decref(det);

	ev = egw_status_event(&st, "rejected", NULL, NULL, EGW_ERR_INVALID_REQUEST, "duplicate");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "error"), "code")),
		  "invalid_request");
	CHECK(json_is_null(json_object_get(ev, "ended_at")));
	json_decref(ev);
	CHECK(!egw_status_is_terminal("rejected"));
	CHECK_STR(egw_err2code(EGW_ERR_EXPIRED), "expired");
	CHECK_STR(egw_err2code(EGW_ERR_STORAGE), "storage_error");
	CHECK_STR(egw_err2code(EGW_ERR_STORAGE_UNREACHABLE), "storage_unreachable");
	CHECK(egw_err_retriable(EGW_ERR_STORAGE_UNREACHABLE) && !egw_err_retriable(EGW_ERR_STORAGE));
	CHECK(egw_status_is_terminal("complete") && egw_status_is_terminal("aborted"));
	CHECK(!egw_status_is_terminal("ending") && !egw_status_is_terminal(NULL));
	CHECK_STR(egw_err2code(EGW_ERR_WORKER_LOST), "worker_lost");
	CHECK(egw_err_retriable(EGW_ERR_SFU_UNREACHABLE) && !egw_err_retriable(EGW_ERR_INVALID_REQUEST));
	CHECK_STR(egw_err2code((egw_err_t)999), "internal_error");

	char out[256];
	egw_log_redact_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", out, sizeof(out));
	CHECK_STR(out, "rtmp://a.rtmp.youtube.com/live2/***");
	CHECK(!strstr(out, "abcd"));
	egw_log_redact_url("https://user:pass@host:8088/janus?token=s3cret", out, sizeof(out));
	CHECK(!strstr(out, "pass") && !strstr(out, "s3cret"));
	CHECK_STR(out, "https://***@host:8088/janus/***");
	egw_log_redact_url("http://127.0.0.1:8088/janus", out, sizeof(out));
	CHECK_STR(out, "http://127.0.0.1:8088/janus");
	egw_log_redact_url("no-scheme-secret", out, sizeof(out));
	CHECK_STR(out, "***");
	egw_log_redact_text("Failed to connect to srt://10.0.0.1:9000?streamid=s3cret: refused, "
			    "then rtmp://h/app/KEY9 'rtmps://u:p@h:443/a/b?x=1'", out, sizeof(out));
	CHECK_STR(out, "Failed to connect to srt://10.0.0.1:9000/*** refused, then "
		       "rtmp://h/app/*** 'rtmps://***@h:443/a/***'");
	egw_log_redact_text("no URL here :// at all", out, sizeof(out));
	CHECK_STR(out, "no URL here :// at all");
	egw_log_redact_text("tiny rtmp://h/app/KEY", out, 12);
	CHECK_STR(out, "tiny rtmp:/");
	egw_log_redact_text(NULL, out, sizeof(out));
	CHECK_STR(out, "");
	return CHECK_DONE();
}
