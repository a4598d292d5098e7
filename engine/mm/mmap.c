// SPDX-License-Identifier: GPL-2.0
/*
 * mm/mmap.c: VMAs, mmap(MAP_FIXED|MAP_ANONYMOUS|MAP_PRIVATE), munmap,
 * free_pgtables and exit_mmap, as of Linux 6.0.  The VMA set is a small
 * sorted array protected by mmap_lock.  munmap(2) downgrades the mmap
 * lock to read before unmap_region(), as 6.0's __do_munmap() does;
 * exit_mmap() zaps under the read lock and frees the page tables under
 * the write lock.
 */
#include <migrace/check.h>
#include <migrace/migrate.h>
#include <migrace/mm.h>
#include <migrace/mmu_notifier.h>
#include <migrace/rmap.h>
#include <migrace/tlb.h>

struct mm_struct *mm_alloc(int id)
{
	struct mm_struct *mm = kzalloc(sizeof(*mm));

	mm->id = id;
	mm->mm_users = 1;
	mm->mmap_lock.name = "mmap_lock";
	spin_lock_init(&mm->page_table_lock, "page_table_lock");
	mm->notifier_subscriptions = kzalloc(sizeof(*mm->notifier_subscriptions));
	mm->notifier_subscriptions->invalidate_seq = 2;
	return mm;
}

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	for (int i = 0; i < mm->nr_vmas; i++)
		if (mm->vmas[i]->vm_end > addr)
			return mm->vmas[i];
	return NULL;
}

/* The VMA at or after @addr, and the one before it in *@pprev. */
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, unsigned long addr,
				     struct vm_area_struct **pprev)
{
	*pprev = NULL;
	for (int i = 0; i < mm->nr_vmas; i++) {
		if (mm->vmas[i]->vm_end > addr)
			return mm->vmas[i];
		*pprev = mm->vmas[i];
	}
	return NULL;
}

/* Private mappings get write access pte by pte (COW): never in the prot. */
void vma_set_page_prot(struct vm_area_struct *vma)
{
	/* WRITE_ONCE: rmap walkers read it without the mmap_lock. */
	if (vma->vm_flags & VM_SHARED)
		WRITE_ONCE(vma->vm_page_prot, (vma->vm_flags & VM_WRITE) ?
					      PAGE_SHARED : PAGE_READONLY);
	else
		WRITE_ONCE(vma->vm_page_prot, PAGE_COPY);
}

static int vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i;

	if (mm->nr_vmas == MAX_VMAS)
		return -ENOMEM;
	for (i = mm->nr_vmas; i > 0 && mm->vmas[i - 1]->vm_start > vma->vm_start;
	     i--)
		mm->vmas[i] = mm->vmas[i - 1];
	mm->vmas[i] = vma;
	mm->nr_vmas++;
	return 0;
}

static void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i, j;

	for (i = 0; i < mm->nr_vmas && mm->vmas[i] != vma; i++)
		;
	BUG_ON(i == mm->nr_vmas);
	for (j = i; j < mm->nr_vmas - 1; j++)
		mm->vmas[j] = mm->vmas[j + 1];
	mm->nr_vmas--;
}

static struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *new = kzalloc(sizeof(*new));

	*new = *orig;
	INIT_LIST_HEAD(&new->anon_vma_chain);
	new->anon_vma = NULL;
	return new;
}

static void remove_vma(struct vm_area_struct *vma)
{
	unlink_anon_vmas(vma);
	kfree(vma);
}

static void anon_vma_lock_write(struct anon_vma *anon_vma);
static void anon_vma_unlock_write(struct anon_vma *anon_vma);

/* Split @vma at @addr; the new VMA takes the part above @addr. */
int split_vma(struct mm_struct *mm, struct vm_area_struct *vma,
	      unsigned long addr)
{
	struct vm_area_struct *new;

	if (mm->nr_vmas == MAX_VMAS)
		return -ENOMEM;
	new = vm_area_dup(vma);
	new->vm_start = addr;
	new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	if (anon_vma_clone(new, vma)) {
		kfree(new);
		return -ENOMEM;
	}
	/*
	 * vma_adjust() changes vm_end under the anon_vma lock, so an rmap
	 * walk never sees both VMAs cover an address.  Stress mode only:
	 * taking it in controlled mode would move every recorded schedule
	 * (a known gap of the controlled mode, docs/architecture.md).
	 */
	if (stress_mode)
		anon_vma_lock_write(vma->anon_vma);
	WRITE_ONCE(vma->vm_end, addr);
	if (stress_mode)
		anon_vma_unlock_write(vma->anon_vma);
	return vma_link(mm, new);
}

static bool can_vma_merge(struct vm_area_struct *vma, unsigned long vm_flags,
			  struct anon_vma *anon_vma)
{
	/* is_mergeable_anon_vma(), the conservative half: the same one */
	return vma->vm_flags == vm_flags && vma->anon_vma == anon_vma;
}

static void anon_vma_lock_write(struct anon_vma *anon_vma)
{
	if (anon_vma)
		__down_write(&anon_vma->root->rwsem, "anon_vma_lock_write",
			     __func__);
}

static void anon_vma_unlock_write(struct anon_vma *anon_vma)
{
	if (anon_vma)
		__up_write(&anon_vma->root->rwsem, "anon_vma_unlock_write",
			   __func__);
}

/*
 * vma_merge() for a range [addr, end) of the VMA after @prev that gets
 * @vm_flags: the neighbours take the range over if they can (same flags,
 * same anon_vma, contiguous pgoff).  Returns the VMA that now covers the
 * range, or NULL (the caller splits).  As __vma_adjust(), the boundaries
 * move under the anon_vma lock so that rmap walkers see either layout,
 * and a VMA swallowed whole is unlinked from its anon_vmas.
 */
struct vm_area_struct *vma_merge(struct mm_struct *mm,
				 struct vm_area_struct *prev,
				 unsigned long addr, unsigned long end,
				 unsigned long vm_flags, struct anon_vma *anon_vma,
				 unsigned long pgoff)
{
	unsigned long pglen = (end - addr) >> PAGE_SHIFT;
	struct vm_area_struct *vma = find_vma(mm, addr), *next;
	struct vm_area_struct *gone[2];
	bool merge_prev, merge_next;
	int ngone = 0;

	if (!vma || vma->vm_start > addr || vma->vm_end < end)
		return NULL;
	next = end == vma->vm_end ? find_vma(mm, end) : NULL;
	if (next && next->vm_start != end)
		next = NULL;
	merge_prev = prev && prev->vm_end == addr &&
		     can_vma_merge(prev, vm_flags, anon_vma) &&
		     prev->vm_pgoff + ((prev->vm_end - prev->vm_start) >>
				       PAGE_SHIFT) == pgoff;
	merge_next = next && can_vma_merge(next, vm_flags, anon_vma) &&
		     pgoff + pglen == next->vm_pgoff &&
		     (addr == vma->vm_start || !merge_prev);
	if (merge_next && addr != vma->vm_start && end != vma->vm_end)
		merge_next = false;
	if (!merge_prev && !merge_next)
		return NULL;

	anon_vma_lock_write(anon_vma);
	if (merge_prev) {
		prev->vm_end = end;
		if (end == vma->vm_end) {
			gone[ngone++] = vma;
			if (merge_next) {
				prev->vm_end = next->vm_end;
				gone[ngone++] = next;
			}
		} else {
			vma->vm_pgoff += (end - vma->vm_start) >> PAGE_SHIFT;
			vma->vm_start = end;
		}
	} else {
		next->vm_pgoff -= pglen;
		next->vm_start = addr;
		if (addr == vma->vm_start)
			gone[ngone++] = vma;
		else
			vma->vm_end = addr;
	}
	anon_vma_unlock_write(anon_vma);
	for (int i = 0; i < ngone; i++) {
		vma_unlink(mm, gone[i]);
		remove_vma(gone[i]);
	}
	return merge_prev ? prev : next;
}

/* Free the pte tables no VMA uses any more (mmap_lock held for write). */
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm,
		   unsigned long floor, unsigned long ceiling)
{
	for (int g = 0; g < PTRS_PER_PGD; g++) {
		/* Faults in other VMAs may populate tables meanwhile. */
		struct pmd_table *pt = READ_ONCE(mm->pgd[g].table);

		if (!pt)
			continue;
		for (int i = 0; i < PTRS_PER_PMD; i++) {
			pmd_t *pmd = &pt->pmds[i];
			struct pte_table *t = READ_ONCE(pmd->table);
			struct vm_area_struct *vma;

			if (!t || t->addr + PMD_SIZE <= floor ||
			    t->addr >= ceiling)
				continue;
			vma = find_vma(mm, t->addr);
			if (vma && vma->vm_start < t->addr + PMD_SIZE)
				continue;
			sched_point(EV_PTE_WRITE, "pmd_clear", __func__, pmd,
				    t->addr, 0);
			WRITE_ONCE(pmd->table, NULL);
			tlb_remove_table(tlb, t);
		}
	}
}

static void unmap_region(struct mm_struct *mm, struct vm_area_struct **vmas,
			 int n, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	lru_add_drain();
	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, NULL, mm, start,
				end);
	mmu_notifier_invalidate_range_start(&range);
	for (int i = 0; i < n; i++)
		unmap_page_range(&tlb, vmas[i], vmas[i]->vm_start,
				 vmas[i]->vm_end);
	mmu_notifier_invalidate_range_end(&range);
	/* Hide the VMAs from rmap walkers before their page tables go. */
	for (int i = 0; i < n; i++)
		unlink_anon_vmas(vmas[i]);
	free_pgtables(&tlb, mm, start, end);
	tlb_finish_mmu(&tlb);
}

/*
 * __do_munmap(), mmap_lock held for write.  With @downgrade, once the VMAs
 * are detached nobody can find them, so the lock is downgraded to read
 * for the slow part (unmap_region()) and 1 is returned: the caller then
 * drops a read lock.
 */
static int __do_munmap(struct mm_struct *mm, unsigned long start,
		       unsigned long len, bool downgrade)
{
	unsigned long end = start + len;
	struct vm_area_struct *detached[MAX_VMAS], *vma;
	int n = 0;

	vma = find_vma(mm, start);
	if (!vma || vma->vm_start >= end)
		return 0;
	if (vma->vm_start < start && split_vma(mm, vma, start))
		return -ENOMEM;
	vma = find_vma(mm, end - 1);
	if (vma && vma->vm_start < end && vma->vm_end > end &&
	    split_vma(mm, vma, end))
		return -ENOMEM;
	while ((vma = find_vma(mm, start)) && vma->vm_start < end) {
		vma_unlink(mm, vma);
		detached[n++] = vma;
	}
	if (downgrade)
		mmap_write_downgrade(mm);
	unmap_region(mm, detached, n, start, end);
	for (int i = 0; i < n; i++)
		remove_vma(detached[i]);
	return downgrade ? 1 : 0;
}

static int do_munmap(struct mm_struct *mm, unsigned long start,
		     unsigned long len)
{
	return __do_munmap(mm, start, len, false);
}

/* __vm_munmap(..., downgrade = true): the munmap(2) system call */
long do_munmap_syscall(struct mm_struct *mm, unsigned long addr,
		       unsigned long len)
{
	long ret;

	mmap_write_lock(mm);
	ret = __do_munmap(mm, addr, len, true);
	if (ret == 1) {
		mmap_read_unlock(mm);
		ret = 0;
	} else {
		mmap_write_unlock(mm);
	}
	return ret;
}

long do_mmap_fixed(struct mm_struct *mm, unsigned long addr,
		   unsigned long len, unsigned long vm_flags)
{
	struct vm_area_struct *vma;
	long ret;

	mmap_write_lock(mm);
	/* Fail before unmapping anything: splits may need two VMAs. */
	if (mm->nr_vmas + 3 > MAX_VMAS) {
		ret = -ENOMEM;
		goto out;
	}
	ret = do_munmap(mm, addr, len);
	if (ret)
		goto out;
	vma = kzalloc(sizeof(*vma));
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags | VM_MAYWRITE;
	/* Private writable: write access is granted pte by pte (COW). */
	vma->vm_page_prot = PAGE_READONLY;
	vma->vm_pgoff = addr >> PAGE_SHIFT;
	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	ret = vma_link(mm, vma);
	if (ret)
		kfree(vma);
out:
	mmap_write_unlock(mm);
	return ret;
}

/*
 * 6.0: the last mm_users reference is gone.  Tell the notifiers, zap
 * every VMA under the mmap lock held for read, then free the page tables
 * and the VMAs (unlinking their anon_vmas) under the write lock.
 */
void exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vmas[MAX_VMAS];
	struct mmu_notifier_range range;
	struct mmu_gather tlb;
	int nr;

	/* mmu_notifier_release(): the mirrors drop the whole address space */
	mmu_notifier_range_init(&range, MMU_NOTIFY_RELEASE, 0, NULL, mm,
				TASK_UNMAPPED_BASE, TASK_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);

	mmap_read_lock(mm);
	lru_add_drain();
	flush_cache_mm(mm);
	tlb_gather_mmu_fullmm(&tlb, mm);
	/* unmap_vmas() */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, NULL, mm,
				TASK_UNMAPPED_BASE, TASK_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	for (int i = 0; i < mm->nr_vmas; i++)
		unmap_page_range(&tlb, mm->vmas[i], mm->vmas[i]->vm_start,
				 mm->vmas[i]->vm_end);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(mm);

	mmap_write_lock(mm);
	/*
	 * free_pgtables(): unlink the anon_vmas, then free the tables (the
	 * engine's free_pgtables() keeps tables a linked VMA still spans,
	 * so the VMAs leave the mm first; nobody can look under the write
	 * lock of an mm without users).
	 */
	nr = mm->nr_vmas;
	for (int i = 0; i < nr; i++)
		vmas[i] = mm->vmas[i];
	mm->nr_vmas = 0;
	for (int i = 0; i < nr; i++)
		unlink_anon_vmas(vmas[i]);
	free_pgtables(&tlb, mm, TASK_UNMAPPED_BASE, TASK_SIZE);
	tlb_finish_mmu(&tlb);
	for (int i = 0; i < nr; i++)
		remove_vma(vmas[i]);
	WRITE_ONCE(mm->dead, true);
	mmap_write_unlock(mm);
}
