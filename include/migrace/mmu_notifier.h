/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MMU interval notifiers, with the invalidate sequence count and the owner
 * field that lets a driver skip its own migrations.
 */
#ifndef MIGRACE_MMU_NOTIFIER_H
#define MIGRACE_MMU_NOTIFIER_H

#include <migrace/mm.h>

enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,
	MMU_NOTIFY_CLEAR,
	MMU_NOTIFY_PROTECTION_VMA,
	MMU_NOTIFY_PROTECTION_PAGE,
	MMU_NOTIFY_SOFT_DIRTY,
	MMU_NOTIFY_RELEASE,
	MMU_NOTIFY_MIGRATE,
	MMU_NOTIFY_EXCLUSIVE,
};

struct mmu_notifier_range {
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	unsigned long start, end;
	unsigned int flags;
	enum mmu_notifier_event event;
	void *owner;
};

struct mmu_interval_notifier;

struct mmu_interval_notifier_ops {
	bool (*invalidate)(struct mmu_interval_notifier *sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
};

struct mmu_interval_notifier {
	unsigned long start, last;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	unsigned long invalidate_seq;
	struct list_head list;
};

#define MAX_NOTIFIERS 4

struct mmu_notifier_subscriptions {
	struct mmu_interval_notifier *subs[MAX_NOTIFIERS];
	int nr;
	unsigned long invalidate_seq;	/* odd: an invalidation is running */
	int active_invalidate_ranges;
	int lock;	/* stress mode: subscriptions->lock (a harness lock) */
};

void mmu_notifier_range_init(struct mmu_notifier_range *r,
			     enum mmu_notifier_event event, unsigned int flags,
			     struct vm_area_struct *vma, struct mm_struct *mm,
			     unsigned long start, unsigned long end);
void mmu_notifier_range_init_owner(struct mmu_notifier_range *r,
				   enum mmu_notifier_event event,
				   unsigned int flags,
				   struct vm_area_struct *vma,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end, void *owner);
void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *r);
void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *r);
#define mmu_notifier_invalidate_range_only_end(r) \
	mmu_notifier_invalidate_range_end(r)

int mmu_interval_notifier_insert(struct mmu_interval_notifier *sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops);
void mmu_interval_notifier_remove(struct mmu_interval_notifier *sub);
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *sub);
/* Like read_retry(), without the ordering: a hint to give up early. */
bool mmu_interval_check_retry(struct mmu_interval_notifier *sub,
			      unsigned long seq);
bool mmu_interval_read_retry(struct mmu_interval_notifier *sub,
			     unsigned long seq);
void mmu_interval_set_seq(struct mmu_interval_notifier *sub,
			  unsigned long cur_seq);

/* Clear-and-flush that also tells secondary MMUs (the change_pte idea). */
#define ptep_clear_flush_notify(vma, addr, ptep) \
	__ptep_clear_flush(vma, addr, ptep, __func__)
#define set_pte_at_notify(mm, addr, ptep, pte) \
	__set_pte_at(mm, addr, ptep, pte, __func__)

#endif
