/*
 * Memory barriers for rings shared with another domain or process.
 *
 * Xen's xen/io/ring.h expects the includer to provide mb(), rmb() and wmb() (interface versions
 * before 0x00030208) or xen_mb(), xen_rmb() and xen_wmb() (later ones, which __XEN_TOOLS__
 * selects).  This header provides both sets for user space on x86 and arm64, built on the C11
 * fences so that the compiler knows about them too:
 *
 *   mb   full fence: orders earlier loads and stores against later ones.  Needed between
 *        publishing an index and reading the other side's event index (Dekker-style).
 *   rmb  acquire fence: loads before it (the producer index) are ordered before loads and stores
 *        after it (the slots).  A compiler barrier on x86, "dmb ishld" on arm64.
 *   wmb  release fence: loads and stores before it (filling slots) are ordered before stores
 *        after it (the producer index).  A compiler barrier on x86, "dmb ish" on arm64.
 *
 * Include this before xen/io/ring.h.  xenctrl.h defines its own xen_mb() family without guards:
 * a file that needs both must include xenctrl.h first.
 */
#ifndef PVIO_RING_BARRIER_H
#define PVIO_RING_BARRIER_H

/* Stops the compiler from caching or reordering memory accesses across it; emits nothing. */
#define ring_barrier() __asm__ __volatile__("" : : : "memory")
#define ring_mb()      __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define ring_rmb()     __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define ring_wmb()     __atomic_thread_fence(__ATOMIC_RELEASE)

#ifndef mb
#define mb() ring_mb()
#endif
#ifndef rmb
#define rmb() ring_rmb()
#endif
#ifndef wmb
#define wmb() ring_wmb()
#endif

#ifndef xen_mb
#define xen_mb() ring_mb()
#endif
#ifndef xen_rmb
#define xen_rmb() ring_rmb()
#endif
#ifndef xen_wmb
#define xen_wmb() ring_wmb()
#endif

#endif /* PVIO_RING_BARRIER_H */
