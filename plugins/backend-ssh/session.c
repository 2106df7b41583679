/* The SSH session: TCP with a connect timeout, the host key checked
 * against known_hosts (strict unless trust_on_first_use), public-key or
 * agent authentication, keepalives; reopened when it has dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh.h"

void sb_disconnect(struct orch_backend *be)
{
    if (be->sftp)
        libssh2_sftp_shutdown(be->sftp);
    be->sftp = NULL;
    if (be->s) {
        libssh2_session_set_blocking(be->s, 0);
        libssh2_session_disconnect(be->s, "orch: done");
        libssh2_session_free(be->s);
    }
    be->s = NULL;
    if (be->sock >= 0)
        close(be->sock);
    be->sock = -1;
}

orch_status sb_fail(struct orch_backend *be, const char *what, struct orch_error *err)
{
    char *msg = NULL;
    int code = be->s ? libssh2_session_last_error(be->s, &msg, NULL, 0) : LIBSSH2_ERROR_SOCKET_DISCONNECT;
    int dead = code == LIBSSH2_ERROR_SOCKET_SEND || code == LIBSSH2_ERROR_SOCKET_RECV ||
               code == LIBSSH2_ERROR_SOCKET_DISCONNECT || code == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
               code == LIBSSH2_ERROR_TIMEOUT || code == LIBSSH2_ERROR_CHANNEL_CLOSED;
    orch_status rc = sb_host->error_set(err, dead ? ORCH_E_TRANSIENT : ORCH_E_IO,
                                        "ssh %s@%s:%lld: %s: %s", be->cfg.user, be->cfg.host,
                                        (long long)be->cfg.port, what,
                                        msg && *msg ? msg : "connection lost");
    if (dead)
        be->broken = 1;
    return rc;
}

void sb_wait(struct orch_backend *be, int ms, int cancel_fd)
{
    struct pollfd p[2] = {{be->sock, 0, 0}, {cancel_fd, POLLIN, 0}};
    int dir = libssh2_session_block_directions(be->s);
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
        p[0].events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        p[0].events |= POLLOUT;
    if (!p[0].events)
        p[0].events = POLLIN;
    poll(p, cancel_fd >= 0 ? 2 : 1, ms);
}

static orch_status sb_tcp(struct orch_backend *be, struct orch_error *err)
{
    char port[16];
    snprintf(port, sizeof port, "%lld", (long long)be->cfg.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *a;
    int gai = getaddrinfo(be->cfg.host, port, &hints, &res);
    if (gai)
        return sb_host->error_set(err, ORCH_E_CONFIG, "cannot resolve host %s: %s",
                                  be->cfg.host, gai_strerror(gai));
    int last = 0;
    for (a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            socklen_t sl = sizeof last;
            if (poll(&p, 1, (int)be->cfg.connect_timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &sl) == 0 && last == 0)
                rc = 0;
            else if (!last)
                last = ETIMEDOUT;
        } else if (rc != 0) {
            last = errno;
        }
        if (rc == 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            be->sock = fd;
            freeaddrinfo(res);
            return ORCH_OK;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return sb_host->error_set(err, ORCH_E_TRANSIENT, "cannot connect to %s:%s: %s",
                              be->cfg.host, port, strerror(last ? last : ECONNREFUSED));
}

static int sb_knownhost_type(int hostkey_type)
{
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

/* The server's key against known_hosts: a match passes; a mismatch never
 * does (it is what a man in the middle looks like); an unknown host only
 * with trust_on_first_use, which records it. */
static orch_status sb_hostkey(struct orch_backend *be, struct orch_error *err)
{
    size_t len;
    int type;
    const char *key = libssh2_session_hostkey(be->s, &len, &type);
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(be->s);
    if (!key || !kh)
        return sb_fail(be, "host key", err);
    const char *file = be->cfg.known_hosts;
    libssh2_knownhost_readfile(kh, file, LIBSSH2_KNOWNHOST_FILE_OPENSSH); /* missing: empty */
    struct libssh2_knownhost *found = NULL;
    int check = libssh2_knownhost_checkp(kh, be->cfg.host, (int)be->cfg.port, key, len,
                                         LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                             LIBSSH2_KNOWNHOST_KEYENC_RAW,
                                         &found);
    orch_status rc = ORCH_OK;
    if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        rc = sb_host->error_set(err, ORCH_E_AUTH,
                                "the host key of %s:%lld does not match the one in %s: "
                                "refusing to connect (the host was reinstalled, or someone is "
                                "in the middle)",
                                be->cfg.host, (long long)be->cfg.port, file);
    } else if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH && !be->cfg.trust_on_first_use) {
        rc = sb_host->error_set(err, ORCH_E_CONFIG,
                                "%s:%lld is not in %s: add its key (ssh-keyscan -p %lld "
                                "%s >> %s, after checking it), or set trust_on_first_use",
                                be->cfg.host, (long long)be->cfg.port, file,
                                (long long)be->cfg.port, be->cfg.host, file);
    } else if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH) {
        char name[300];
        if (be->cfg.port == 22)
            snprintf(name, sizeof name, "%s", be->cfg.host);
        else
            snprintf(name, sizeof name, "[%s]:%lld", be->cfg.host, (long long)be->cfg.port);
        if (libssh2_knownhost_addc(kh, name, NULL, key, len, NULL, 0,
                                   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                       sb_knownhost_type(type),
                                   NULL) != 0 ||
            libssh2_knownhost_writefile(kh, file, LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
            rc = sb_host->error_set(err, ORCH_E_IO, "cannot record the key of %s in %s",
                                    name, file);
        else
            sb_host->log(NULL, ORCH_LOG_WARN, "ssh: trusted %s on first use; its key is now in "
                         "%s", name, file);
    }
    libssh2_knownhost_free(kh);
    return rc;
}

static orch_status sb_auth(struct orch_backend *be, struct orch_error *err)
{
    const struct sb_cfg *c = &be->cfg;
    int rc = -1;
    const char *how;
    if (c->private_key) {
        how = "the private_key";
        rc = libssh2_userauth_publickey_frommemory(be->s, c->user, strlen(c->user), NULL, 0,
                                                   c->private_key, strlen(c->private_key),
                                                   c->passphrase);
    } else if (c->private_key_file) {
        how = c->private_key_file;
        rc = libssh2_userauth_publickey_fromfile(be->s, c->user, NULL, c->private_key_file,
                                                 c->passphrase);
    } else if (c->use_agent) {
        how = "the ssh agent";
        LIBSSH2_AGENT *ag = libssh2_agent_init(be->s);
        struct libssh2_agent_publickey *id = NULL, *prev = NULL;
        if (ag && libssh2_agent_connect(ag) == 0 && libssh2_agent_list_identities(ag) == 0)
            while (rc != 0 && libssh2_agent_get_identity(ag, &id, prev) == 0) {
                rc = libssh2_agent_userauth(ag, c->user, id);
                prev = id;
            }
        if (ag) {
            libssh2_agent_disconnect(ag);
            libssh2_agent_free(ag);
        }
    } else {
        return sb_host->error_set(err, ORCH_E_CONFIG,
                                  "no way to authenticate: set private_key, "
                                  "private_key_file or use_agent");
    }
    if (rc == 0)
        return ORCH_OK;
    char *msg = NULL;
    libssh2_session_last_error(be->s, &msg, NULL, 0);
    return sb_host->error_set(err, ORCH_E_AUTH,
                              "%s@%s:%lld refused the key from %s: %s", c->user, c->host,
                              (long long)c->port, how, msg && *msg ? msg : "denied");
}

orch_status sb_session(struct orch_backend *be, struct orch_error *err)
{
    if (be->s && be->broken)
        sb_disconnect(be);
    be->broken = 0;
    if (be->s)
        return ORCH_OK;
    orch_status rc = sb_tcp(be, err);
    if (rc != ORCH_OK)
        return rc;
    be->s = libssh2_session_init();
    if (!be->s) {
        sb_disconnect(be);
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    libssh2_session_set_blocking(be->s, 1);
    libssh2_session_set_timeout(be->s, (long)be->cfg.connect_timeout_ms);
    if (libssh2_session_handshake(be->s, be->sock) != 0) {
        rc = sb_fail(be, "handshake", err);
        sb_disconnect(be);
        return rc == ORCH_E_IO ? ORCH_E_TRANSIENT : rc;
    }
    if ((rc = sb_hostkey(be, err)) != ORCH_OK || (rc = sb_auth(be, err)) != ORCH_OK) {
        sb_disconnect(be);
        return rc;
    }
    libssh2_keepalive_config(be->s, 1, (unsigned)((be->cfg.keepalive_ms + 999) / 1000));
    /* Operations bound their own waits: no session-wide timeout. */
    libssh2_session_set_timeout(be->s, 0);
    return ORCH_OK;
}

orch_status sb_sftp(struct orch_backend *be, struct orch_error *err)
{
    orch_status rc = sb_session(be, err);
    if (rc != ORCH_OK || be->sftp)
        return rc;
    libssh2_session_set_blocking(be->s, 1);
    be->sftp = libssh2_sftp_init(be->s);
    return be->sftp ? ORCH_OK : sb_fail(be, "sftp", err);
}

orch_status sb_run(struct orch_backend *be, const char *cmd, char **out, int *status,
                   struct orch_error *err)
{
    if (out)
        *out = NULL;
    for (int attempt = 0;; attempt++) {
        orch_status rc = sb_session(be, err);
        if (rc != ORCH_OK)
            return rc;
        libssh2_session_set_blocking(be->s, 1);
        LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(be->s);
        if (!ch) {
            rc = sb_fail(be, "open a channel", err);
            if (rc == ORCH_E_TRANSIENT && attempt == 0)
                continue; /* the connection had dropped: once more on a new one */
            return rc;
        }
        libssh2_channel_handle_extended_data2(ch, LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE);
        if (libssh2_channel_exec(ch, cmd) != 0) {
            rc = sb_fail(be, "exec", err);
            libssh2_channel_free(ch);
            return rc;
        }
        size_t len = 0, cap = 0;
        char *buf = NULL, chunk[8192];
        ssize_t n;
        int nomem = 0;
        while ((n = libssh2_channel_read(ch, chunk, sizeof chunk)) > 0) {
            if (out && len + (size_t)n + 1 > cap) {
                cap = (len + (size_t)n + 1) * 2;
                char *nb = sb_host->realloc(buf, cap);
                if (!nb) {
                    nomem = 1; /* not a short answer taken for the whole one */
                    break;
                }
                buf = nb;
            }
            if (out) {
                memcpy(buf + len, chunk, (size_t)n);
                len += (size_t)n;
                buf[len] = 0;
            }
        }
        if (n < 0) {
            /* The read's error, taken before closing: close and
             * wait_closed on a channel short of EOF set errors of their
             * own ("not in EOF state") that would hide the real one. */
            rc = sb_fail(be, "read", err);
            libssh2_channel_free(ch);
            sb_host->free(buf);
            return rc;
        }
        libssh2_channel_close(ch);
        libssh2_channel_wait_closed(ch);
        *status = libssh2_channel_get_exit_status(ch);
        libssh2_channel_free(ch);
        if (nomem) {
            sb_host->free(buf);
            return sb_host->error_set(err, ORCH_E_NOMEM,
                                      "out of memory reading a command's output");
        }
        if (out)
            *out = buf ? buf : sb_host->strdup("");
        else
            sb_host->free(buf);
        return ORCH_OK;
    }
}
