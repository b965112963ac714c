/* `egress dashboard` (see dashboard.h): one loop waits on the HTTP
 * daemon's sockets for at most LOOP_MS, serves what is ready, then takes
 * every status event the consumer has (a group-less consumer from the
 * start of every partition, as `egress watch` reads). */
#include "worker/dashboard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "base/log.h"
#include "worker/dashboard_int.h"
#include "worker/kafka.h"
#include "worker/ops.h"

#define LOOP_MS 100
#define METADATA_MS 10000
#define EVENTS_PER_TURN 2000 /* then the HTTP daemon's turn again */
#define EGRESSES_MAX 500     /* shown at most */

typedef struct dashboard {
	const egw_config_t *cfg;
	egw_fleet_t *fleet;
	struct MHD_Daemon *daemon;
	rd_kafka_t *reader;
	int n_partitions;
	unsigned char *at_end; /* partitions read to their end once */
	int n_at_end;
	unsigned long long events;
	char reader_error[256]; /* the consumer's last error; "" after a message */
} dashboard_t;

/* ---- HTTP ---- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               struct MHD_Response *r)
{
	enum MHD_Result ret;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                    char *body)
{
	return respond(conn, status, type,
	               MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE));
}

static enum MHD_Result serve_page(struct MHD_Connection *conn)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	        strlen(egw_dashboard_page), (void *)egw_dashboard_page, MHD_RESPMEM_PERSISTENT);
	/* everything is inline; the page reaches nothing but this server */
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'none'; script-src 'unsafe-inline'; "
	                        "style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'");
	return respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", r);
}

static enum MHD_Result serve_egresses(dashboard_t *d, struct MHD_Connection *conn)
{
	json_t *view = egw_fleet_json(d->fleet, g_get_real_time() / 1000, EGRESSES_MAX);
	char now[32], *body;
	egw_time_now(now, sizeof(now));
	json_object_set_new(view, "now", json_string(now));
	json_object_set_new(view, "reader",
	                    json_pack("{s:s, s:I, s:b, s:s?}", "topic", d->cfg->status_topic,
	                              "events", (json_int_t)d->events, "caught_up",
	                              d->n_at_end >= d->n_partitions, "error",
	                              d->reader_error[0] ? d->reader_error : NULL));
	body = json_dumps(view, JSON_COMPACT);
	json_decref(view);
	if (!body)
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
		                    g_strdup("out of memory\n"));
	/* (jansson's allocation: handed to MHD, which frees it with free()) */
	return respond(conn, MHD_HTTP_OK, "application/json",
	               MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE));
}

static enum MHD_Result serve_thumb(dashboard_t *d, struct MHD_Connection *conn,
                                   const char *egress_id)
{
	off_t size = 0;
	int fd = egw_fleet_thumb_open(d->fleet, egress_id, &size);
	struct MHD_Response *r;
	if (fd < 0)
		return respond_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
		                    g_strdup("no thumbnail\n"));
	if (!(r = MHD_create_response_from_fd((size_t)size, fd))) { /* (fd is MHD's now) */
		close(fd);
		return MHD_NO;
	}
	return respond(conn, MHD_HTTP_OK, "image/jpeg", r);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	dashboard_t *d = cls;
	(void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		                    g_strdup("GET only\n"));
	if (!strcmp(url, "/"))
		return serve_page(conn);
	if (!strcmp(url, "/api/egresses"))
		return serve_egresses(d, conn);
	if (!strncmp(url, "/thumb/", 7))
		return serve_thumb(d, conn, url + 7);
	if (!strcmp(url, "/healthz"))
		return respond_text(conn, MHD_HTTP_OK, "text/plain; charset=utf-8",
		                    g_strdup("ok\n"));
	return respond_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
	                    g_strdup("not found: /, /api/egresses, /thumb/EGRESS_ID\n"));
}

/* "IPV4:PORT" into sa; 0, or -1. */
static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char host[64], *end;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host) || *end ||
	    port <= 0 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* ---- the status topic ---- */

static void take_message(dashboard_t *d, rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (m->partition >= 0 && m->partition < d->n_partitions &&
		    !d->at_end[m->partition]) {
			d->at_end[m->partition] = 1;
			if (++d->n_at_end == d->n_partitions)
				EGW_LOG(NULL, INFO, "dashboard: %s read to its end: %zu egresses",
				        d->cfg->status_topic, egw_fleet_size(d->fleet));
		}
		return;
	}
	if (m->err) {
		snprintf(d->reader_error, sizeof(d->reader_error), "%s",
		         rd_kafka_message_errstr(m));
		EGW_LOG(NULL, WARN, "dashboard: reading %s: %s", d->cfg->status_topic,
		        d->reader_error);
		return;
	}
	d->reader_error[0] = '\0';
	d->events++;
	if (m->payload)
		egw_fleet_take(d->fleet, m->payload, m->len);
}

static void read_status(dashboard_t *d)
{
	rd_kafka_message_t *m;
	for (int n = 0; n < EVENTS_PER_TURN && (m = rd_kafka_consumer_poll(d->reader, 0)); n++) {
		take_message(d, m);
		rd_kafka_message_destroy(m);
	}
}

static int open_reader(dashboard_t *d)
{
	char errstr[512];
	const egw_config_t *cfg = d->cfg;
	if (!cfg->kafka_brokers || !*cfg->kafka_brokers ||
	    !strcmp(cfg->kafka_brokers, "embedded")) {
		fprintf(stderr,
		        "egress dashboard: give the brokers as EGRESS_KAFKA_BROKERS=HOST:PORT,... "
		        "(kafka_brokers)\n");
		return EGW_OPS_INVALID;
	}
	if (!(d->reader = egw_kafka_new(cfg, cfg->kafka_brokers, EGW_KAFKA_READER, errstr,
	                                sizeof(errstr)))) {
		fprintf(stderr, "egress dashboard: Kafka consumer: %s\n", errstr);
		return EGW_OPS_INVALID;
	}
	if (egw_kafka_assign_all_at(d->reader, cfg->status_topic, RD_KAFKA_OFFSET_BEGINNING,
	                            METADATA_MS, &d->n_partitions, errstr, sizeof(errstr))) {
		fprintf(stderr, "egress dashboard: %s (brokers %s)\n", errstr, cfg->kafka_brokers);
		return EGW_OPS_UNREACHABLE;
	}
	d->at_end = g_malloc0((size_t)MAX(d->n_partitions, 1));
	return EGW_OPS_OK;
}

/* ---- the loop ---- */

/* Waits up to LOOP_MS for the HTTP sockets, then serves what is ready. */
static void serve_http(dashboard_t *d)
{
	fd_set rs, ws, es;
	MHD_socket max = 0;
	MHD_UNSIGNED_LONG_LONG mhd_ms = LOOP_MS;
	struct timeval tv = {0, LOOP_MS * 1000};
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	if (MHD_get_fdset(d->daemon, &rs, &ws, &es, &max) != MHD_YES) {
		MHD_run(d->daemon);
		g_usleep(LOOP_MS * 1000);
		return;
	}
	if (MHD_get_timeout(d->daemon, &mhd_ms) == MHD_YES && mhd_ms < LOOP_MS)
		tv.tv_usec = (suseconds_t)mhd_ms * 1000;
	if (select(max + 1, &rs, &ws, &es, &tv) < 0 && errno != EINTR)
		g_usleep(LOOP_MS * 1000);
	MHD_run(d->daemon);
}

int egw_dashboard_run(const egw_config_t *cfg, const char *listen, volatile sig_atomic_t *stop)
{
	dashboard_t d = {.cfg = cfg};
	struct sockaddr_in sa;
	int ret;
	if (parse_listen(listen, &sa)) {
		fprintf(stderr, "egress dashboard: --listen '%s' is not IPV4:PORT\n", listen);
		return EGW_OPS_INVALID;
	}
	/* no thread flag: the loop below runs it */
	d.daemon = MHD_start_daemon(MHD_USE_ERROR_LOG, ntohs(sa.sin_port), NULL, NULL, answer, &d,
	                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (!d.daemon) {
		fprintf(stderr, "egress dashboard: cannot listen on %s\n", listen);
		return EGW_OPS_INVALID;
	}
	if ((ret = open_reader(&d)))
		goto out;
	d.fleet = egw_fleet_new();
	printf("dashboard: http://%s/\n", listen);
	fflush(stdout);
	EGW_LOG(NULL, INFO, "dashboard on http://%s/ from %s (brokers %s); Ctrl-C stops it", listen,
	        cfg->status_topic, cfg->kafka_brokers);
	while (!*stop) {
		serve_http(&d);
		read_status(&d);
	}
out:
	MHD_stop_daemon(d.daemon);
	egw_kafka_destroy(d.reader);
	egw_fleet_free(d.fleet);
	g_free(d.at_end);
	return ret;
}
