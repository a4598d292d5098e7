/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Locks.  The code is the same in both modes: try the atomic, and if that
 * fails, block on the lock (controlled mode parks the CPU until the holder
 * releases it; stress mode spins).  @what names the kernel helper that took
 * the lock, so traces say "pte_offset_map_lock" rather than "spin_lock".
 */
#ifndef MIGRACE_SPINLOCK_H
#define MIGRACE_SPINLOCK_H

#include <migrace/kernel.h>

typedef struct {
	int locked;	/* 0, or holder cpu + 1 */
	const char *name;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(n) { 0, n }

static inline void spin_lock_init(spinlock_t *l, const char *name)
{
	l->locked = 0;
	l->name = name;
}

void __spin_lock(spinlock_t *l, const char *what, const char *func);
bool __spin_trylock(spinlock_t *l, const char *what, const char *func);
void __spin_unlock(spinlock_t *l, const char *what, const char *func);

#define spin_lock(l) __spin_lock(l, "spin_lock", __func__)
#define spin_trylock(l) __spin_trylock(l, "spin_trylock", __func__)
#define spin_unlock(l) __spin_unlock(l, "spin_unlock", __func__)

static inline bool spin_is_locked(const spinlock_t *l)
{
	return READ_ONCE(l->locked) != 0;
}

/* rw_semaphore: the mmap_lock.  Sleeping lock: never under a spinlock. */
struct rw_semaphore {
	int count;	/* -1: writer, >0: readers */
	const char *name;
};

void __down_read(struct rw_semaphore *s, const char *what, const char *func);
bool __down_read_trylock(struct rw_semaphore *s, const char *what,
			 const char *func);
static inline bool rwsem_is_locked(const struct rw_semaphore *s)
{
	return READ_ONCE(s->count) != 0;
}
void __up_read(struct rw_semaphore *s, const char *what, const char *func);
void __down_write(struct rw_semaphore *s, const char *what, const char *func);
void __up_write(struct rw_semaphore *s, const char *what, const char *func);
void __downgrade_write(struct rw_semaphore *s, const char *what,
		       const char *func);

/* Sleeping in atomic context (a spinlock held) is a report (oracle 4). */
void might_sleep_check(const char *what, const char *func);

#endif
