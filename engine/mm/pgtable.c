// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table allocation, lookup, the split PTE lock and the entry
 * accessors.  Every entry read or write is a preemption point.
 */
#include <migrace/check.h>
#include <migrace/mm.h>
#include <migrace/tlb.h>

_Static_assert(sizeof(pte_t) * PTRS_PER_PTE == 64, "pte_table_of()");
_Static_assert(sizeof(pmd_t) * PTRS_PER_PMD == 64, "pmd_table_of()");

pgd_t *pgd_offset(struct mm_struct *mm, unsigned long addr)
{
	if (addr < TASK_UNMAPPED_BASE || addr >= TASK_SIZE)
		report_bug(mm, addr, "address %#lx outside the emulated user range",
			   addr);
	return &mm->pgd[pgd_index(addr)];
}

pmd_t *pmd_offset(pgd_t *pgd, unsigned long addr)
{
	struct pmd_table *t = READ_ONCE(pgd->table);

	if (!t)
		return NULL;
	if (kobj_freed(t)) {
		report_obj(t, RO_OBJECT);
		report_bug(NULL, addr, "use-after-free: freed pmd table at %#lx",
			   addr);
	}
	return &t->pmds[pmd_index(addr)];
}

pmd_t *pmd_alloc(struct mm_struct *mm, pgd_t *pgd, unsigned long addr)
{
	if (!READ_ONCE(pgd->table)) {
		struct pmd_table *new = kzalloc(sizeof(*new));

		new->addr = addr & PGDIR_MASK;
		spin_lock(&mm->page_table_lock);
		if (!pgd->table)
			smp_store_release(&pgd->table, new);
		else
			kfree(new);
		spin_unlock(&mm->page_table_lock);
	}
	return pmd_offset(pgd, addr);
}

pmd_t pmdp_get_lockless(pmd_t *pmdp)
{
	sched_point(EV_PTE_READ, "pmdp_get_lockless", __func__, pmdp, 0, 0);
	return (pmd_t){ READ_ONCE(pmdp->table) };
}

int pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	struct pmd_table *pt = pmd_table_of(pmd);
	struct pte_table *new;

	if (READ_ONCE(pmd->table))
		return 0;
	new = kzalloc(sizeof(*new));
	spin_lock_init(&new->ptl, "ptl");
	new->addr = pt->addr + (unsigned long)(pmd - pt->pmds) * PMD_SIZE;
	new->mm = mm;
	spin_lock(&mm->page_table_lock);
	if (!pmd->table) {
		sched_point(EV_PTE_WRITE, "pmd_populate", __func__, pmd,
			    new->addr, 0);
		/* pmd_install(): smp_wmb() before pmd_populate() */
		smp_store_release(&pmd->table, new);
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)
		kfree(new);
	return 0;
}

spinlock_t *pte_lockptr(struct mm_struct *mm, pmd_t *pmd)
{
	struct pte_table *t = READ_ONCE(pmd->table);

	(void)mm;
	if (kobj_freed(t)) {
		report_obj(t, RO_OBJECT);
		report_bug(NULL, 0, "use-after-free: lock of a freed pte table");
	}
	return &t->ptl;
}

void check_pte_table(pte_t *ptep, const char *what)
{
	struct pte_table *t = pte_table_of(ptep);

	if (kobj_freed(t)) {
		report_obj(t, RO_OBJECT);
		report_bug(NULL, 0, "use-after-free: %s on a freed pte table",
			   what);
	}
}

pte_t *__pte_offset_map(pmd_t *pmd, unsigned long addr, const char *func)
{
	struct pte_table *t;

	sched_point(EV_PTE_READ, "pte_offset_map", func, pmd, addr, 0);
	t = READ_ONCE(pmd->table);
	if (!t)
		return NULL;
	if (kobj_freed(t)) {
		report_obj(t, RO_OBJECT);
		report_bug(NULL, addr, "use-after-free: %s() mapped a freed pte table",
			   func);
	}
	return &t->ptes[pte_index(addr)];
}

pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
			     unsigned long addr, spinlock_t **ptlp,
			     const char *func)
{
	struct pte_table *t = READ_ONCE(pmd->table);

	(void)mm;
	if (kobj_freed(t)) {
		report_obj(t, RO_OBJECT);
		report_bug(NULL, addr, "use-after-free: %s() locked a freed pte table",
			   func);
	}
	*ptlp = &t->ptl;
	__spin_lock(&t->ptl, "pte_offset_map_lock", func);
	return &t->ptes[pte_index(addr)];
}

void __pte_unmap_unlock(pte_t *pte, spinlock_t *ptl, const char *func)
{
	(void)pte;
	__spin_unlock(ptl, "pte_unmap_unlock", func);
}

pte_t __ptep_get(pte_t *ptep, const char *func)
{
	check_pte_table(ptep, "ptep_get");
	sched_point(EV_PTE_READ, "ptep_get", func, ptep, pte_addr_of(ptep), 0);
	return (pte_t){ __atomic_load_n(&ptep->pte, __ATOMIC_ACQUIRE) };
}

void __set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		  pte_t pte, const char *func)
{
	(void)mm;
	check_pte_table(ptep, "set_pte_at");
	sched_point(EV_PTE_WRITE, "set_pte_at", func, ptep, addr, pte_val(pte));
	check_pte_update(ptep, __atomic_exchange_n(&ptep->pte, pte_val(pte),
						   __ATOMIC_ACQ_REL),
			 pte_val(pte), addr);
}

pte_t __ptep_get_and_clear(struct mm_struct *mm, unsigned long addr,
			   pte_t *ptep, const char *what, const char *func)
{
	pte_t old;

	(void)mm;
	check_pte_table(ptep, what);
	sched_point(EV_PTE_WRITE, what, func, ptep, addr, 0);
	old.pte = __atomic_exchange_n(&ptep->pte, 0, __ATOMIC_ACQ_REL);
	check_pte_update(ptep, old.pte, 0, addr);
	return old;
}

pte_t __ptep_clear_flush(struct vm_area_struct *vma, unsigned long addr,
			 pte_t *ptep, const char *func)
{
	pte_t pte = __ptep_get_and_clear(vma->vm_mm, addr, ptep,
					 "ptep_clear_flush", func);

	/* x86: only an entry the TLB may hold needs the flush */
	if (pte_present(pte))
		__flush_tlb_range(vma, addr, addr + PAGE_SIZE, func);
	return pte;
}

void __ptep_set_wrprotect(struct mm_struct *mm, unsigned long addr,
			  pte_t *ptep, const char *func)
{
	u64 old;

	(void)mm;
	check_pte_table(ptep, "ptep_set_wrprotect");
	sched_point(EV_PTE_WRITE, "ptep_set_wrprotect", func, ptep, addr, 0);
	old = __atomic_fetch_and(&ptep->pte, ~(u64)_PAGE_RW, __ATOMIC_ACQ_REL);
	check_pte_update(ptep, old, old & ~(u64)_PAGE_RW, addr);
}

bool __ptep_cmpxchg(pte_t *ptep, pte_t old, pte_t new, unsigned long addr,
		    const char *what, const char *func)
{
	check_pte_table(ptep, what);
	sched_point(EV_PTE_WRITE, what, func, ptep, addr, pte_val(new));
	if (!__atomic_compare_exchange_n(&ptep->pte, &old.pte, new.pte, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	check_pte_update(ptep, old.pte, new.pte, addr);
	return true;
}
