/* The rule for which listen addresses are private to this machine (apart
 * from http.c, so that reload.c can apply it without a call cycle through
 * the router). */
#include <string.h>

#include "orchd.h"

int orchd_listen_is_loopback(const char *listen)
{
    return !strncmp(listen, "unix:", 5) || !strncmp(listen, "127.", 4) ||
           !strncmp(listen, "localhost:", 10) || !strncmp(listen, "[::1]:", 6);
}
