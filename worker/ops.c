/* The operator's commands (see ops.h). Messages go out through the
 * worker's own producer set-up (egw_kafka_new), are flushed, and a message
 * still queued after FLUSH_MS means the brokers did not take it. Reading
 * the status topic uses a group-less consumer from the start of every
 * partition. */
#include "worker/ops.h"

#include <glib.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "contract/request.h"
#include "job/plan.h"
#include "worker/kafka.h"

#define FLUSH_MS 15000
#define METADATA_MS 10000
#define LIST_TIMEOUT_MS 20000

static int fail(int code, const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(int code, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "egress %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int brokers_ok(const egw_config_t *cfg, const char *cmd)
{
	if (!cfg->kafka_brokers || !*cfg->kafka_brokers)
		return !fail(EGW_OPS_INVALID, cmd,
		             "no brokers: set kafka_brokers (EGRESS_KAFKA_BROKERS=HOST:PORT,...)");
	if (!strcmp(cfg->kafka_brokers, "embedded"))
		return !fail(EGW_OPS_INVALID, cmd,
		             "'embedded' is a broker inside a worker: give the address it printed "
		             "('bootstrap: HOST:PORT') as EGRESS_KAFKA_BROKERS");
	return 1;
}

/* Validates text as a worker would; 0 when it would run (type checked). */
static int validate(const char *cmd, const char *what, const char *text, size_t len,
                    egw_request_type_t want, char *id)
{
	egw_request_t *req = NULL;
	char errstr[512];
	egw_err_t err = egw_request_parse(text, len, &req, id, errstr, sizeof(errstr));
	if (!err && req->type != want) {
		snprintf(errstr, sizeof(errstr), "type: must be %s here",
		         want == EGW_REQ_START ? "start" : "a control request");
		err = EGW_ERR_INVALID_REQUEST;
	}
	if (!err && want == EGW_REQ_START)
		err = egw_plan_check(req->job, errstr, sizeof(errstr));
	egw_request_free(req);
	if (err)
		return fail(EGW_OPS_INVALID, cmd, "%s: %s: %s (nothing was sent)", what,
		            egw_err2code(err), errstr);
	return 0;
}

static int produce(const egw_config_t *cfg, const char *cmd, const char *topic, const char *key,
                   const char *value, size_t len)
{
	char errstr[512];
	rd_kafka_t *rk =
	        egw_kafka_new(cfg, cfg->kafka_brokers, EGW_KAFKA_PRODUCER, errstr, sizeof(errstr));
	if (!rk)
		return fail(EGW_OPS_INVALID, cmd, "Kafka producer: %s", errstr);
	egw_kafka_msg_t m = {
	        .topic = topic, .key = key, .key_len = strlen(key), .value = value, .len = len};
	egw_err_t err = egw_kafka_produce(rk, &m);
	rd_kafka_flush(rk, FLUSH_MS);
	int left = rd_kafka_outq_len(rk);
	egw_kafka_destroy(rk);
	if (err || left)
		return fail(EGW_OPS_UNREACHABLE, cmd,
		            "not delivered to %s within %d s (brokers %s)", topic, FLUSH_MS / 1000,
		            cfg->kafka_brokers);
	return EGW_OPS_OK;
}

static char *read_all(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
	GError *e = NULL;
	char *text = NULL;
	gsize n = 0;
	if (!strcmp(path, "-")) {
		GString *s = g_string_new(NULL);
		char buf[4096];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0)
			g_string_append_len(s, buf, (gssize)k);
		*len = s->len;
		return g_string_free(s, FALSE);
	}
	if (!g_file_get_contents(path, &text, &n, &e)) {
		snprintf(errstr, errstr_size, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	*len = n;
	return text;
}

int egw_ops_submit(const egw_config_t *cfg, const char *path)
{
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1] = "";
	size_t len = 0;
	char *text = read_all(path, &len, errstr, sizeof(errstr));
	int ret;
	if (!text)
		return fail(EGW_OPS_INVALID, "submit", "%s", errstr);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if ((ret = validate("submit", path, text, len, EGW_REQ_START, id)) ||
	    !brokers_ok(cfg, "submit")) {
		g_free(text);
		return ret ? ret : EGW_OPS_INVALID;
	}
	ret = produce(cfg, "submit", cfg->jobs_topic, id, text, len);
	g_free(text);
	if (!ret)
		printf("%s submitted to %s\n", id, cfg->jobs_topic);
	return ret;
}

static int send_control(const egw_config_t *cfg, const char *cmd, json_t *req,
                        egw_request_type_t type)
{
	char id[EGW_EGRESS_ID_MAX + 1] = "";
	char *text = json_dumps(req, JSON_COMPACT);
	int ret;
	json_decref(req);
	if (!text)
		return fail(EGW_OPS_INVALID, cmd, "out of memory");
	ret = validate(cmd, "request", text, strlen(text), type, id);
	if (!ret && !brokers_ok(cfg, cmd))
		ret = EGW_OPS_INVALID;
	if (!ret)
		ret = produce(cfg, cmd, cfg->control_topic, id, text, strlen(text));
	if (!ret)
		printf("%s: %s sent to %s\n", id, cmd, cfg->control_topic);
	free(text);
	return ret;
}

int egw_ops_stop(const egw_config_t *cfg, const char *egress_id, const char *reason)
{
	json_t *req = json_pack("{s:s, s:s}", "type", "stop", "egress_id", egress_id);
	if (reason)
		json_object_set_new(req, "reason", json_string(reason));
	return send_control(cfg, "stop", req, EGW_REQ_STOP);
}

static json_t *urls(const char *const *u, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(u[i]));
	return a;
}

int egw_ops_update(const egw_config_t *cfg, const char *egress_id, const egw_ops_update_t *u)
{
	json_t *req;
	if (u->layout && (u->n_add || u->n_remove))
		return fail(EGW_OPS_INVALID, "update",
		            "give --layout, or --add-url/--remove-url, not both");
	if (u->layout) {
		json_t *layout = u->layout[0] == '{' ? json_loads(u->layout, 0, NULL)
		                                     : json_string(u->layout);
		if (!layout)
			return fail(EGW_OPS_INVALID, "update", "--layout: not valid JSON");
		req = json_pack("{s:s, s:s, s:o}", "type", "update_layout", "egress_id", egress_id,
		                "layout", layout);
		return send_control(cfg, "update", req, EGW_REQ_UPDATE_LAYOUT);
	}
	if (!u->n_add && !u->n_remove)
		return fail(EGW_OPS_INVALID, "update", "give --layout, --add-url or --remove-url");
	req = json_pack("{s:s, s:s}", "type", "update_stream", "egress_id", egress_id);
	if (u->n_add)
		json_object_set_new(req, "add_urls", urls(u->add_urls, u->n_add));
	if (u->n_remove)
		json_object_set_new(req, "remove_urls", urls(u->remove_urls, u->n_remove));
	return send_control(cfg, "update", req, EGW_REQ_UPDATE_STREAM);
}

/* ---- reading the status topic ---- */

static rd_kafka_t *reader(const egw_config_t *cfg, const char *cmd, int *n_partitions)
{
	char errstr[512];
	rd_kafka_t *rk;
	if (!brokers_ok(cfg, cmd))
		return NULL;
	if (!(rk = egw_kafka_new(cfg, cfg->kafka_brokers, EGW_KAFKA_READER, errstr,
	                         sizeof(errstr)))) {
		fail(EGW_OPS_INVALID, cmd, "Kafka consumer: %s", errstr);
		return NULL;
	}
	if (egw_kafka_assign_all_at(rk, cfg->status_topic, RD_KAFKA_OFFSET_BEGINNING, METADATA_MS,
	                            n_partitions, errstr, sizeof(errstr))) {
		fail(EGW_OPS_UNREACHABLE, cmd, "%s (brokers %s)", errstr, cfg->kafka_brokers);
		egw_kafka_destroy(rk);
		return NULL;
	}
	return rk;
}

static int final_code(const char *status)
{
	if (!g_strcmp0(status, "complete"))
		return EGW_OPS_OK;
	if (!g_strcmp0(status, "failed"))
		return EGW_OPS_FAILED;
	if (!g_strcmp0(status, "aborted"))
		return EGW_OPS_ABORTED;
	return -1;
}

int egw_ops_watch(const egw_config_t *cfg, const char *egress_id, double timeout_s,
                  volatile sig_atomic_t *stop)
{
	rd_kafka_t *rk = reader(cfg, "watch", NULL);
	gint64 until = timeout_s > 0 ? g_get_monotonic_time() + (gint64)(timeout_s * 1e6) : 0;
	int ret = -1;
	if (!rk)
		return EGW_OPS_UNREACHABLE;
	while (ret < 0 && !*stop && (!until || g_get_monotonic_time() < until)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err && m->payload) {
			json_t *ev = json_loadb(m->payload, m->len, 0, NULL);
			const char *id = json_string_value(json_object_get(ev, "egress_id"));
			const char *status = json_string_value(json_object_get(ev, "status"));
			if (ev && (!egress_id || !g_strcmp0(id, egress_id))) {
				printf("%.*s\n", (int)m->len, (const char *)m->payload);
				fflush(stdout);
				if (egress_id)
					ret = final_code(status);
			}
			json_decref(ev);
		}
		rd_kafka_message_destroy(m);
	}
	egw_kafka_destroy(rk);
	if (ret < 0 && egress_id && !*stop)
		return fail(EGW_OPS_UNREACHABLE, "watch", "%s: no final event within %.0f s",
		            egress_id, timeout_s);
	return ret < 0 ? EGW_OPS_OK : ret;
}

static int by_started(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = g_strcmp0(json_string_value(json_object_get(x, "started_at")),
	                  json_string_value(json_object_get(y, "started_at")));
	return c ? c
	         : g_strcmp0(json_string_value(json_object_get(x, "egress_id")),
	                     json_string_value(json_object_get(y, "egress_id")));
}

int egw_ops_list(const egw_config_t *cfg, int all)
{
	int n_parts = 0, eofs = 0;
	rd_kafka_t *rk = reader(cfg, "list", &n_parts);
	json_t *last = json_object(); /* egress id -> its last state event */
	gint64 until = g_get_monotonic_time() + (gint64)LIST_TIMEOUT_MS * 1000;
	if (!rk) {
		json_decref(last);
		return EGW_OPS_UNREACHABLE;
	}
	while (eofs < n_parts && g_get_monotonic_time() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eofs++;
		} else if (!m->err && m->payload) {
			json_t *ev = json_loadb(m->payload, m->len, 0, NULL);
			const char *id = json_string_value(json_object_get(ev, "egress_id"));
			const char *status = json_string_value(json_object_get(ev, "status"));
			if (id && status &&
			    strcmp(status, "rejected")) /* (no state of the egress) */
				json_object_set(last, id, ev);
			json_decref(ev);
		}
		rd_kafka_message_destroy(m);
	}
	egw_kafka_destroy(rk);
	if (eofs < n_parts) {
		json_decref(last);
		return fail(EGW_OPS_UNREACHABLE, "list", "%s not read to its end within %d s",
		            cfg->status_topic, LIST_TIMEOUT_MS / 1000);
	}
	GPtrArray *rows = g_ptr_array_new();
	const char *id;
	json_t *ev;
	json_object_foreach(last, id, ev)
	{
		if (all || final_code(json_string_value(json_object_get(ev, "status"))) < 0)
			g_ptr_array_add(rows, ev);
	}
	g_ptr_array_sort(rows, by_started);
	printf("%-24s %-10s %-20s %-24s %s\n", "EGRESS_ID", "STATUS", "WORKER", "STARTED_AT",
	       "OUTPUTS");
	for (guint i = 0; i < rows->len; i++) {
		json_t *e = rows->pdata[i];
		const char *started = json_string_value(json_object_get(e, "started_at"));
		printf("%-24s %-10s %-20s %-24s %zu\n",
		       json_string_value(json_object_get(e, "egress_id")),
		       json_string_value(json_object_get(e, "status")),
		       json_string_value(json_object_get(e, "worker_id"))
		               ? json_string_value(json_object_get(e, "worker_id"))
		               : "-",
		       started ? started : "-", json_array_size(json_object_get(e, "outputs")));
	}
	g_ptr_array_free(rows, TRUE);
	json_decref(last);
	return EGW_OPS_OK;
}
