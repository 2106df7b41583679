/* The floor under any orchestrator's per-step cost: posix_spawn and wait of
 * `true`, N times in a row. usage: spawn_floor N */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    char *args[] = {"true", NULL};
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        if (posix_spawnp(&pid, "true", NULL, NULL, args, environ) != 0 ||
            waitpid(pid, &st, 0) < 0)
            return 1;
    }
    return 0;
}
