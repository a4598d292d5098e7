/*
 * Stress mode's RCU glue over liburcu (rcu_urcu.c).  A header of its own,
 * free of the engine's rcu.h: rcu_urcu.c includes liburcu's headers,
 * which define their own rcu_* names.
 */
#ifndef MIGRACE_URCU_GLUE_H
#define MIGRACE_URCU_GLUE_H

void urcu_glue_register(void);
void urcu_glue_unregister(void);
void urcu_glue_read_lock(void);
void urcu_glue_read_unlock(void);
void urcu_glue_call(void *storage, void (*fn)(void *storage));
void urcu_glue_barrier(void);
void urcu_glue_stop(void);

#endif
