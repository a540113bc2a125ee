/*
 * health.h: liveness, readiness, health and Prometheus metrics.
 * No authentication; nginx limits /metrics to loopback.
 */
#ifndef QUIPU_HEALTH_H
#define QUIPU_HEALTH_H

#include "apperr.h"

struct http_request;
struct http_response;

/* GET /healthz: 200 {"status":"ok"} while the process serves. */
enum app_err	 health_healthz(struct http_request *, struct http_response *);
/* GET /readyz: 200 when PostgreSQL answers and migrations are current. */
enum app_err	 health_readyz(struct http_request *, struct http_response *);
/* GET /api/v1/health: status, version, database, llm, workers, time. */
enum app_err	 health_api(struct http_request *, struct http_response *);
/* GET /metrics: Prometheus text format from the scoreboard. */
enum app_err	 health_metrics(struct http_request *, struct http_response *);

#endif
