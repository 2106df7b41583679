/* A webhook delivery as the `event` context of its webhook's inputs: and
 * filter: templates: event.FIELD.SUB... walks the JSON payload (an array
 * by index), event.headers.NAME is a request header (any case). A value
 * that is not there is null; an object or an array is its compact JSON
 * text. Payload values are untrusted data: they become typed inputs,
 * checked like any other, and are never evaluated as expressions. */
#ifndef ORCHD_HOOK_EVENT_H
#define ORCHD_HOOK_EVENT_H

#include <jansson.h>

#include "template.h"

struct orchd_req;

struct orchd_hook_event {
    struct orchd_req *rq;
    json_t *payload;         /* borrowed */
};

/* sc reads ev (which must outlive it). */
void orchd_hook_scope(struct oc_scope *sc, struct orchd_hook_event *ev);

#endif
