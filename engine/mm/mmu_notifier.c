// SPDX-License-Identifier: GPL-2.0
/*
 * mm/mmu_notifier.c: interval notifiers with the invalidate sequence.
 * The subscription sequence is odd while an invalidation overlapping a
 * subscriber runs; a subscriber's own sequence is set by its invalidate
 * callback, so mmu_interval_read_retry() tells a driver it raced.
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/mmu_notifier.h>
#include "../sched/stress.h"

/*
 * subscriptions->lock.  Controlled mode needs no lock here: nothing runs
 * between two preemption points and these sections have none.  Stress
 * mode takes a harness lock (no preemption point, so the controlled
 * mode's traces are unchanged).
 */
static void subs_lock(struct mmu_notifier_subscriptions *subs)
{
	if (stress_mode)
		stress_harness_lock(&subs->lock);
}

static void subs_unlock(struct mmu_notifier_subscriptions *subs)
{
	if (stress_mode)
		stress_harness_unlock(&subs->lock);
}

void mmu_notifier_range_init_owner(struct mmu_notifier_range *r,
				   enum mmu_notifier_event event,
				   unsigned int flags,
				   struct vm_area_struct *vma,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end, void *owner)
{
	r->vma = vma;
	r->mm = mm;
	r->start = start;
	r->end = end;
	r->flags = flags;
	r->event = event;
	r->owner = owner;
}

void mmu_notifier_range_init(struct mmu_notifier_range *r,
			     enum mmu_notifier_event event, unsigned int flags,
			     struct vm_area_struct *vma, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	mmu_notifier_range_init_owner(r, event, flags, vma, mm, start, end,
				      NULL);
}

void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *r)
{
	struct mmu_notifier_subscriptions *subs = r->mm->notifier_subscriptions;
	struct mmu_interval_notifier *hit[MAX_NOTIFIERS];
	unsigned long seq;
	int nhit = 0;

	sched_point(EV_NOTE, "mmu_notifier_invalidate_range_start", __func__,
		    r->mm, r->start, r->end);
	/* Oracle 4: every start has its end, like a lock pairing. */
	if (current_cpu)
		current_cpu->notifier_ranges++;
	subs_lock(subs);
	subs->active_invalidate_ranges++;
	for (int i = 0; i < subs->nr; i++) {
		struct mmu_interval_notifier *sub = subs->subs[i];

		if (sub->last < r->start || sub->start >= r->end)
			continue;
		WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq | 1);
		hit[nhit++] = sub;	/* the interval tree walk */
	}
	seq = subs->invalidate_seq;
	subs_unlock(subs);
	for (int i = 0; i < nhit; i++)
		hit[i]->ops->invalidate(hit[i], r, seq);
}

void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *r)
{
	struct mmu_notifier_subscriptions *subs = r->mm->notifier_subscriptions;

	sched_point(EV_NOTE, "mmu_notifier_invalidate_range_end", __func__,
		    r->mm, r->start, r->end);
	if (current_cpu && --current_cpu->notifier_ranges < 0)
		report_bug(r->mm, r->start,
			   "mmu_notifier_invalidate_range_end() without its start");
	subs_lock(subs);
	if (--subs->active_invalidate_ranges == 0 &&
	    (subs->invalidate_seq & 1)) {
		WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq + 1);
		subs_unlock(subs);
		sched_wake(subs);
		return;
	}
	subs_unlock(subs);
}

int mmu_interval_notifier_insert(struct mmu_interval_notifier *sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	sub->start = start;
	sub->last = start + length - 1;
	sub->ops = ops;
	sub->mm = mm;
	/*
	 * Inserted during an invalidation: read_begin() must wait for its
	 * end (same odd value).  Otherwise any value the idle (even)
	 * sequence never takes.
	 */
	subs_lock(subs);
	if (subs->nr == MAX_NOTIFIERS) {
		subs_unlock(subs);
		return -ENOMEM;
	}
	if (subs->invalidate_seq & 1)
		sub->invalidate_seq = subs->invalidate_seq;
	else
		sub->invalidate_seq = subs->invalidate_seq - 1;
	subs->subs[subs->nr++] = sub;
	subs_unlock(subs);
	return 0;
}

void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub)
{
	struct mmu_notifier_subscriptions *subs =
		sub->mm->notifier_subscriptions;

	subs_lock(subs);
	for (int i = 0; i < subs->nr; i++)
		if (subs->subs[i] == sub) {
			subs->subs[i] = subs->subs[--subs->nr];
			break;
		}
	subs_unlock(subs);
}

unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub)
{
	struct mmu_notifier_subscriptions *subs =
		sub->mm->notifier_subscriptions;
	unsigned long seq;

	subs_lock(subs);
	seq = READ_ONCE(sub->invalidate_seq);
	subs_unlock(subs);
	/* An invalidation of this range is running: wait for its end. */
	while (seq == READ_ONCE(subs->invalidate_seq)) {
		might_sleep_check("mmu_interval_read_begin", __func__);
		sched_block(subs, "mmu_interval_read_begin", __func__);
	}
	return seq;
}

bool mmu_interval_check_retry(struct mmu_interval_notifier *sub,
			      unsigned long seq)
{
	sched_point(EV_NOTE, "mmu_interval_check_retry", __func__, sub, 0, 0);
	return READ_ONCE(sub->invalidate_seq) != seq;
}

bool mmu_interval_read_retry(struct mmu_interval_notifier *sub,
			     unsigned long seq)
{
	return READ_ONCE(sub->invalidate_seq) != seq;
}

void mmu_interval_set_seq(struct mmu_interval_notifier *sub,
			  unsigned long cur_seq)
{
	WRITE_ONCE(sub->invalidate_seq, cur_seq);
}
