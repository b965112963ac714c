/* The settings table of worker/config.c, shared with the reference it
 * writes (worker/config_doc.c). locality: read-only data. */
#ifndef EGW_CONFIG_INT_H
#define EGW_CONFIG_INT_H

#include <stddef.h>

typedef enum {
	CT_STR,    /* char * */
	CT_INT,    /* int, within min..max */
	CT_CHOICE, /* int: index of the value in choices */
	CT_LIST,   /* char ** and size_t count (at count_offset) */
} conf_type_t;

#define CF_NONEMPTY 0x01u /* "" makes no sense */

/* The one table of settings. Every setting can be given in the JSON file
 * under `name` or in the environment as EGRESS_<NAME upper-cased>. */
struct conf_prop {
	const char *name;
	conf_type_t type;
	unsigned flags;
	size_t offset, count_offset;
	const char *sdef; /* strings, choices; lists: the default as documented */
	int idef, min, max;
	const char *const *choices;
	const char *doc;
	/* strings: 0, or -1 with why (a phrase to follow the name) */
	int (*check)(const char *s, char *why, size_t why_size);
};

extern const struct conf_prop egw_conf_props[];
extern const size_t egw_conf_n_props;

/* "must be ..." of p, for messages (buf holds it when it is built). */
const char *egw_conf_rule_of(const struct conf_prop *p, char *buf, size_t size);

#endif
