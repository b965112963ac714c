/* libFuzzer target: the worker's configuration file (outside input: an
 * operator's file, or a mounted ConfigMap). The input is written to a file
 * and loaded with no EGRESS_ variable set. A load that succeeds must give
 * every setting within its documented range and the doc must still be
 * writable; one that fails must say why. Traps otherwise. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/config.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	extern char **environ;
	(void)argc, (void)argv;
	/* only the file speaks: drop every EGRESS_ variable */
	for (char **e = environ; e && *e;) {
		if (!strncmp(*e, "EGRESS_", 7)) {
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
			unsetenv(name);
			e = environ;
			continue;
		}
		e++;
	}
	snprintf(path, sizeof(path), "/tmp/egw-fuzz-config-%d.json", (int)getpid());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	egw_config_t *cfg = NULL;
	char errstr[512] = "";
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (egw_config_load(path, &cfg, errstr, sizeof(errstr)) == 0) {
		if (!cfg || cfg->max_jobs < 1 || cfg->stop_grace_s < 1 ||
		    cfg->drain_timeout_s < 0 || !cfg->worker_id || !cfg->spool_dir ||
		    !cfg->spool_dir[0] || !cfg->http_listen ||
		    (cfg->n_kafka_props && !cfg->kafka_props))
			__builtin_trap();
		for (size_t i = 0; i < cfg->n_kafka_props; i++)
			if (!strchr(cfg->kafka_props[i], '='))
				__builtin_trap();
		egw_config_free(cfg);
	} else if (!errstr[0] || memchr(errstr, '\0', sizeof(errstr)) == NULL) {
		__builtin_trap();
	}
	unlink(path);
	return 0;
}
