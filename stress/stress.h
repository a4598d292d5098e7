/* `migrace stress` (stress/stress.c), called by tools/migrace.c. */
#ifndef MIGRACE_STRESS_CMD_H
#define MIGRACE_STRESS_CMD_H

int cmd_stress(int argc, char **argv);

#endif
