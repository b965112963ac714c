/* worker/webhook: the signature a receiver checks (against Python's
 * hmac.new(b"whsec_test", b"1700000000." + body, sha256), computed once)
 * and which status is which webhook event. Delivery, order and retries are
 * tested against a real receiver (integration.webhooks). */
#include <glib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "worker/webhook.h"

int main(void)
{
	const char *body = "{\"event\":\"egress.ended\"}";
	char *sig = egw_webhook_signature("whsec_test", 1700000000LL, body, strlen(body));
	CHECK_STR(sig, "v1=b103cc0beadf28ab851375e5c8f75c69ef247875c9499168b82f913883ccc5a6");
	g_free(sig);
	/* another timestamp, another signature: a replay cannot move it */
	sig = egw_webhook_signature("whsec_test", 1700000001LL, body, strlen(body));
	CHECK(strcmp(sig, "v1=b103cc0beadf28ab851375e5c8f75c69ef247875c9499168b82f913883ccc5a6"));
	g_free(sig);

	CHECK_STR(egw_webhook_event("starting"), "egress.started");
	CHECK_STR(egw_webhook_event("active"), "egress.updated");
	CHECK_STR(egw_webhook_event("ending"), "egress.updated");
	CHECK_STR(egw_webhook_event("uploading"), "egress.updated");
	CHECK_STR(egw_webhook_event("complete"), "egress.ended");
	CHECK_STR(egw_webhook_event("aborted"), "egress.ended");
	CHECK_STR(egw_webhook_event("failed"), "egress.failed");
	CHECK(egw_webhook_event("rejected") == NULL);
	CHECK(egw_webhook_event(NULL) == NULL);
	return CHECK_DONE();
}
