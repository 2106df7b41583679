/* The live status area of `orch run` on a terminal: the steps running now
 * with their elapsed time, the counts done/failed/skipped/total and the
 * run's elapsed time, redrawn in place under the lines that scroll above
 * it (and every quarter of a second, so times move while nothing
 * happens). Whoever prints a scrolling line does it between
 * cli_status_hide and cli_status_show, under the area's lock. */
#ifndef CLI_STATUS_AREA_H
#define CLI_STATUS_AREA_H

#include <stddef.h>
#include <stdint.h>

struct cli_status;

/* NULL when stdout is not a terminal that can redraw (TERM=dumb, not a
 * tty) unless force; colour: whether the area may use it. */
struct cli_status *cli_status_new(int force, int colour);
/* Erases the area for good and stops its ticker. NULL is fine. */
void cli_status_free(struct cli_status *s);

/* Take the lock and erase the area; show redraws it and unlocks. Nothing
 * is drawn before the first show (an error printed before the run starts
 * is not drawn over). show_at(s, 0) leaves the redraw to the ticker, for a
 * burst of lines that would otherwise redraw it for each. */
void cli_status_hide(struct cli_status *s);
void cli_status_show(struct cli_status *s);
void cli_status_show_at(struct cli_status *s, int now);

/* The steps in all; takes the lock itself. */
void cli_status_total(struct cli_status *s, size_t total);
/* What the area shows; each call under hide/show. A matrix step's n
 * instances are n steps more in all (when the total is known). */
void cli_status_more_steps(struct cli_status *s, size_t n);
void cli_status_step_started(struct cli_status *s, const char *step, uint32_t attempt);
/* outcome: 's' succeeded, 'f' failed (or cancelled, timed out), 'k'
 * skipped, 'r' to retry (still counted as running), 'w' waiting. */
void cli_status_step_ended(struct cli_status *s, const char *step, char outcome);

#endif
