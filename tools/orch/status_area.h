/* The live status area of `orch run` (and of a run followed, follow.c) on
 * a terminal: the steps running now with their elapsed time, the steps
 * waiting for approval with the command that approves them, the counts
 * done/failed/skipped/total and the run's elapsed time, redrawn in place
 * under the lines that scroll above it (and every quarter of a second, so
 * times move while nothing happens). Whoever prints a scrolling line does
 * it between cli_status_hide and cli_status_show, under the area's lock. */
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
/* began_ns: when the attempt began (real time; 0: now), so a run followed
 * from its ledger shows the time it has really run. */
void cli_status_step_started(struct cli_status *s, const char *step, uint32_t attempt,
                             int64_t began_ns);
/* The run's clock from real_ns (0: leaves it at the area's creation). */
void cli_status_run_began(struct cli_status *s, int64_t real_ns);
/* A step waiting for a decision, shown with cmd (the command that gives
 * it) until decided. */
void cli_status_step_waiting(struct cli_status *s, const char *step, const char *cmd);
void cli_status_step_decided(struct cli_status *s, const char *step);
/* outcome: 's' succeeded, 'f' failed (or cancelled, timed out), 'k'
 * skipped, 'r' to retry (still counted as running), 'w' waiting. */
void cli_status_step_ended(struct cli_status *s, const char *step, char outcome);

#endif
