/* Error codes shared by every module. Values are fixed: they appear in logs
 * and, through egw_err2code(), in status events. */
#ifndef EGW_ERR_H
#define EGW_ERR_H

typedef enum egw_err {
	EGW_OK = 0,
	EGW_ERR_INVALID_REQUEST = 1, /* fatal: job failed validation */
	EGW_ERR_NOT_SUPPORTED = 2,   /* fatal: valid, but not implemented yet */
	EGW_ERR_NOT_FOUND = 3,       /* fatal: participant/track/room absent */
	EGW_ERR_SFU = 4,             /* retriable: SFU refused or misbehaved */
	EGW_ERR_SFU_UNREACHABLE = 5, /* retriable: SFU did not answer */
	EGW_ERR_MEDIA = 6,           /* fatal: media pipeline error */
	EGW_ERR_IO = 7,              /* retriable: local file system error */
	EGW_ERR_KAFKA = 8,           /* retriable: broker error */
	EGW_ERR_TIMEOUT = 9,         /* retriable */
	EGW_ERR_NOMEM = 10,          /* fatal */
	EGW_ERR_INTERNAL = 11,       /* fatal: a bug */
	EGW_ERR_CAPACITY = 12,       /* retriable: worker full */
	EGW_ERR_WORKER_LOST = 13,    /* fatal: the job process died */
	EGW_ERR_UNAUTHORIZED = 14,   /* fatal: the SFU refused our credentials (PIN) */
	EGW_ERR_OUTPUT_EXISTS = 15,  /* fatal: an output's path is taken */
	EGW_ERR_EXPIRED = 16,        /* fatal: a start request older than its age limit */
	EGW_ERR_STORAGE = 17,        /* fatal: the storage refused (credentials, bucket, access) */
	EGW_ERR_STORAGE_UNREACHABLE = 18, /* retriable: the storage did not answer, or failed */
} egw_err_t;

/* Human-readable description. */
const char *egw_err2str(egw_err_t err);
/* Stable snake_case code for status events ("invalid_request", ...). */
const char *egw_err2code(egw_err_t err);
/* Non-zero when retrying the same operation later may succeed. */
int egw_err_retriable(egw_err_t err);

#endif
