/* The live status area (status_area.h). Drawn with three escape sequences
 * every terminal since the VT100 has: cursor up (CSI A), erase the line
 * (CSI 2 K) and SGR colours; lines are cut to the terminal's width so that
 * none wraps, which is what lets the area be erased by counting lines. */
#define _GNU_SOURCE
#include "status_area.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#define CLI_TICK_MS 250

struct cli_live_step {
    char *id;
    uint32_t attempt;
    int64_t since;
};

/* A step parked on a decision, with the command that gives it. */
struct cli_wait_step {
    char *id, *cmd;
};

struct cli_status {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    pthread_t ticker;
    int stop, colour;
    int live;       /* shown once: the ticker draws it from then on */
    struct cli_live_step *steps;
    size_t n, cap;
    struct cli_wait_step *waits;
    size_t n_waits;
    size_t done, failed, skipped, total;
    int64_t start;
    int drawn;      /* lines of the area on the screen now */
    int drawn_cols; /* the width they were cut to */
    /* While the area lives, fd 2 is a pipe the ticker drains: what orch,
     * its executors and their plugins write to stderr is printed above
     * the area, never over it. err_out: the terminal's stderr, kept;
     * -1 when stderr was not a terminal (then it is left alone). */
    int err_rd, err_out;
    struct oc_buf err_buf; /* the ticker's: bytes read, not printed yet */
};

static void cli_area_size(int *rows, int *cols)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    } else {
        *rows = 24;
        *cols = 80;
    }
}

/* One line of the area: text cut to cols - 1 visible characters (the last
 * column would wrap on some terminals), then coloured. */
static void cli_area_line(struct cli_status *s, int cols, const char *sgr, const char *text)
{
    int max = cols > 2 ? cols - 1 : 1;
    /* Step ids and commands may come from a store or an API: no control
     * byte of theirs reaches the terminal (nor breaks the line count). */
    char safe[512];
    size_t n = 0;
    for (; text[n] && n < sizeof safe - 1; n++)
        safe[n] = (unsigned char)text[n] < 0x20 || text[n] == 0x7f ? '?' : text[n];
    safe[n] = 0;
    if (s->colour && sgr)
        printf("\x1b[%sm%.*s\x1b[0m\n", sgr, max, safe);
    else
        printf("%.*s\n", max, safe);
    s->drawn++;
}

static void cli_area_erase(struct cli_status *s)
{
    if (!s->drawn)
        return;
    /* A terminal narrowed since the draw may have wrapped the lines: go up
     * as many rows as they can now take, at most twice the lines. */
    int rows, cols, up = s->drawn;
    cli_area_size(&rows, &cols);
    if (cols < s->drawn_cols)
        up = s->drawn * ((s->drawn_cols + cols - 1) / cols);
    if (up > rows)
        up = rows;
    /* Line by line (up, erase the line), not "erase below": a terminal
     * that sees the whole screen erased may scroll it into its history
     * first (tmux's scroll-on-clear), which would keep the old area. */
    fputc('\r', stdout);
    for (int i = 0; i < up; i++)
        fputs("\x1b[1A\x1b[2K", stdout);
    s->drawn = 0;
}

static void cli_area_draw(struct cli_status *s)
{
    int rows, cols;
    cli_area_size(&rows, &cols);
    s->drawn_cols = cols;
    int64_t now = oc_now_mono_ns();
    /* At most half the screen, so the log above stays readable. */
    size_t room = rows / 2 > 2 ? (size_t)(rows / 2 - 1) : 1;
    char line[512], took[32];
    for (size_t i = 0; i < s->n && i < room; i++) {
        const struct cli_live_step *st = &s->steps[i];
        cli_fmt_duration(took, sizeof took, now - st->since);
        if (st->attempt > 1)
            snprintf(line, sizeof line, "  > %s  %s  (attempt %u)", st->id, took, st->attempt);
        else
            snprintf(line, sizeof line, "  > %s  %s", st->id, took);
        cli_area_line(s, cols, "36", line);
    }
    if (s->n > room) {
        snprintf(line, sizeof line, "  ... and %zu more running", s->n - room);
        cli_area_line(s, cols, "36", line);
    }
    for (size_t i = 0; i < s->n_waits && i < room; i++) {
        snprintf(line, sizeof line, "  ? %s waits for approval: %s", s->waits[i].id,
                 s->waits[i].cmd);
        cli_area_line(s, cols, "33", line);
    }
    cli_fmt_duration(took, sizeof took, now - s->start);
    char total[32] = "";
    if (s->total)
        snprintf(total, sizeof total, "/%zu", s->total);
    snprintf(line, sizeof line, "  %zu%s done, %zu failed, %zu skipped, %zu running  %s",
             s->done, total, s->failed, s->skipped, s->n, took);
    cli_area_line(s, cols, s->failed ? "1;31" : "1", line);
    fflush(stdout);
}

/* What the pipe holds now, into err_buf (the ticker's alone). */
static void cli_err_take(struct cli_status *s)
{
    char chunk[4096];
    ssize_t n;
    while ((n = read(s->err_rd, chunk, sizeof chunk)) > 0)
        oc_buf_add(&s->err_buf, chunk, (size_t)n);
}

/* Print the whole lines read (a partial line waits, unless it is long). */
static void cli_err_print(struct cli_status *s, int all)
{
    if (!s->err_buf.len)
        return;
    size_t n = s->err_buf.len;
    while (!all && n && s->err_buf.data[n - 1] != '\n')
        n--;
    if (!n && s->err_buf.len >= 4096)
        n = s->err_buf.len;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(s->err_out, s->err_buf.data + off, n - off);
        if (w <= 0)
            break; /* the terminal went away: what is left is dropped */
        off += (size_t)w;
    }
    memmove(s->err_buf.data, s->err_buf.data + n, s->err_buf.len - n);
    s->err_buf.len -= n;
}

/* With stderr passing through: wait for its bytes or a tick, print the
 * lines above the area, redraw. The pipe is read without the lock, so a
 * thread that writes to stderr while it holds the lock never waits on a
 * full pipe. */
static void *cli_area_pipe_ticker(struct cli_status *s)
{
    for (;;) {
        struct pollfd p = {s->err_rd, POLLIN, 0};
        if (poll(&p, 1, CLI_TICK_MS) > 0)
            cli_err_take(s);
        pthread_mutex_lock(&s->lock);
        if (s->stop) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        int lines = memchr(s->err_buf.data ? s->err_buf.data : "", '\n', s->err_buf.len) != NULL ||
                    s->err_buf.len >= 4096;
        if (s->live)
            cli_area_erase(s);
        fflush(stdout);
        if (lines)
            cli_err_print(s, 0);
        if (s->live)
            cli_area_draw(s);
        pthread_mutex_unlock(&s->lock);
    }
}

static void *cli_area_ticker(void *ud)
{
    struct cli_status *s = ud;
    if (s->err_rd >= 0)
        return cli_area_pipe_ticker(s);
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_nsec += CLI_TICK_MS * 1000000L;
        if (at.tv_nsec >= 1000000000L) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->lock, &at);
        if (!s->stop && s->live) {
            cli_area_erase(s);
            cli_area_draw(s);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* fd 2 becomes the pipe's writing end (inherited by the executors
 * spawned from now on); nothing changes when stderr is not a terminal or
 * the pipe cannot be made. */
static void cli_err_divert(struct cli_status *s)
{
    int p[2];
    if (!isatty(STDERR_FILENO) || pipe2(p, O_CLOEXEC) != 0)
        return;
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0 || dup2(p[1], STDERR_FILENO) < 0) { /* dup2 clears CLOEXEC on fd 2 */
        if (saved >= 0)
            close(saved);
        close(p[0]);
        close(p[1]);
        return;
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    s->err_rd = p[0];
    s->err_out = saved;
}

/* stderr back to the terminal, and what the pipe still holds printed. */
static void cli_err_restore(struct cli_status *s)
{
    if (s->err_rd < 0)
        return;
    fflush(stderr);
    dup2(s->err_out, STDERR_FILENO);
    cli_err_take(s); /* what was written before the switch back */
    cli_err_print(s, 1);
    close(s->err_rd);
    close(s->err_out);
    s->err_rd = s->err_out = -1;
    oc_buf_free(&s->err_buf);
}

struct cli_status *cli_status_new(int force, int colour)
{
    const char *term = getenv("TERM");
    if (!force && (!isatty(STDOUT_FILENO) || !term || !*term || !strcmp(term, "dumb")))
        return NULL;
    struct cli_status *s = oc_xcalloc(1, sizeof *s);
    s->colour = colour;
    s->start = oc_now_mono_ns();
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->err_rd = s->err_out = -1;
    cli_err_divert(s);
    /* Signals go to the main thread (Ctrl-C cancels the run there). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = pthread_create(&s->ticker, NULL, cli_area_ticker, s) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        cli_err_restore(s);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL; /* plain lines, then */
    }
    return s;
}

void cli_status_free(struct cli_status *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    cli_area_erase(s);
    fflush(stdout);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->ticker, NULL);
    cli_err_restore(s);
    for (size_t i = 0; i < s->n; i++)
        free(s->steps[i].id);
    free(s->steps);
    for (size_t i = 0; i < s->n_waits; i++) {
        free(s->waits[i].id);
        free(s->waits[i].cmd);
    }
    free(s->waits);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void cli_status_hide(struct cli_status *s)
{
    pthread_mutex_lock(&s->lock);
    cli_area_erase(s);
}

void cli_status_show_at(struct cli_status *s, int now)
{
    s->live = 1;
    if (now)
        cli_area_draw(s);
    else
        fflush(stdout);
    pthread_mutex_unlock(&s->lock);
}

void cli_status_show(struct cli_status *s)
{
    cli_status_show_at(s, 1);
}

void cli_status_total(struct cli_status *s, size_t total)
{
    pthread_mutex_lock(&s->lock);
    s->total = total;
    pthread_mutex_unlock(&s->lock);
}

void cli_status_more_steps(struct cli_status *s, size_t n)
{
    if (s->total)
        s->total += n;
}

static size_t cli_area_find(const struct cli_status *s, const char *step)
{
    size_t i = 0;
    while (i < s->n && strcmp(s->steps[i].id, step))
        i++;
    return i;
}

/* A real time (ns) as the monotonic clock's, for times of the ledger. */
static int64_t cli_area_mono(int64_t real_ns)
{
    int64_t now = oc_now_mono_ns();
    return real_ns ? now - (oc_now_real_ns() - real_ns) : now;
}

void cli_status_run_began(struct cli_status *s, int64_t real_ns)
{
    if (real_ns)
        s->start = cli_area_mono(real_ns);
}

void cli_status_step_started(struct cli_status *s, const char *step, uint32_t attempt,
                             int64_t began_ns)
{
    size_t i = cli_area_find(s, step);
    if (i == s->n) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 8;
            s->steps = oc_xrealloc(s->steps, s->cap * sizeof *s->steps);
        }
        s->steps[s->n++].id = oc_xstrdup(step);
    }
    s->steps[i].attempt = attempt;
    s->steps[i].since = cli_area_mono(began_ns);
}

void cli_status_step_ended(struct cli_status *s, const char *step, char outcome)
{
    if (outcome == 'r')
        return; /* the next attempt's start resets its clock */
    size_t i = cli_area_find(s, step);
    if (i < s->n) {
        free(s->steps[i].id);
        memmove(&s->steps[i], &s->steps[i + 1], (s->n - i - 1) * sizeof *s->steps);
        s->n--;
    }
    if (outcome == 's')
        s->done++;
    else if (outcome == 'f')
        s->failed++;
    else if (outcome == 'k')
        s->skipped++;
}

void cli_status_step_waiting(struct cli_status *s, const char *step, const char *cmd)
{
    cli_status_step_decided(s, step); /* once each */
    s->waits = oc_xrealloc(s->waits, (s->n_waits + 1) * sizeof *s->waits);
    s->waits[s->n_waits].id = oc_xstrdup(step);
    s->waits[s->n_waits++].cmd = oc_xstrdup(cmd);
}

void cli_status_step_decided(struct cli_status *s, const char *step)
{
    for (size_t i = 0; i < s->n_waits; i++) {
        if (strcmp(s->waits[i].id, step))
            continue;
        free(s->waits[i].id);
        free(s->waits[i].cmd);
        memmove(&s->waits[i], &s->waits[i + 1], (s->n_waits - i - 1) * sizeof *s->waits);
        s->n_waits--;
        return;
    }
}
