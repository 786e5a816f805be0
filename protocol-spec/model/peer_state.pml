/* SPDX-License-Identifier: MIT */
/*
 * peer_state.pml - Promela model of the peer-state bytes of one side line
 * (ivc-protocol.md section 6.3): live, closed, attached.
 *
 * One process plays the peer: it attaches, then either closes in order
 * (closed = 1, then its unmap notification clears live), or crashes (the
 * notification clears live without closed), or stays up. Another process
 * classifies the peer again and again the way section 6.3 prescribes and
 * asserts that the answer is never wrong:
 *   DEAD   only if the peer really crashed (never for an orderly close,
 *          never for a peer that is attaching or up);
 *   CLOSED only if the peer really closed.
 * UP and WAITING may be stale (a later look corrects them: the change of
 * live comes with an event), so they are not asserted.
 *
 * Sequential consistency stands for the release stores and acquire loads
 * the spec requires; the hazards below are plain interleavings, so they
 * exist on every hardware.
 *
 * Broken variants, each rejected (check.sh verifies that):
 *   -DREAD_CLOSED_FIRST   the observer loads closed before live: an orderly
 *                         close between the two loads looks like a crash
 *   -DWRITE_ATTACHED_FIRST the peer stores attached before live: a look
 *                         between the two stores sees an attached peer
 *                         that is not live, i.e. "dead"
 */

#define WAITING 0
#define UP 1
#define CLOSED 2
#define DEAD 3

/* The peer's side line. */
bit live, closed, attached;

/* Ghost truth, not protocol. */
bit crashed, did_close;

active proctype peer()
{
#ifdef WRITE_ATTACHED_FIRST
	attached = 1;
	live = 1;
#else
	live = 1;     /* after the platform armed the unmap notification */
	attached = 1; /* never cleared */
#endif
	if
	:: /* orderly close, then unmap: the notification clears live */
		atomic { closed = 1; did_close = 1 };
		live = 0
	:: /* crash: the notification clears live, closed stays 0 */
		atomic { live = 0; crashed = 1 }
	:: skip /* stays up */
	fi
}

active proctype observer()
{
	bit a, l, c;
	bit was_live = 0; /* local memory: we saw it live before */
	byte st;

	do
	:: /* classify, one load each, in the order of section 6.3 */
#ifdef READ_CLOSED_FIRST
		c = closed;
		l = live;
		a = attached;
#else
		a = attached;
		l = live;
		c = closed;
#endif
		if
		:: c -> st = CLOSED
		:: !c && l -> st = UP; was_live = 1
		:: !c && !l && (a || was_live) -> st = DEAD
		:: else -> st = WAITING
		fi;
		assert(st != DEAD || crashed);
		assert(st != CLOSED || did_close);
		if
		:: st == CLOSED || st == DEAD -> break /* final */
		:: else -> skip
		fi
	:: break /* the observer may stop looking at any time */
	od
}
