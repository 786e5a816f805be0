/* SPDX-License-Identifier: MIT */
/*
 * ivc_ring.pml - Promela model of one libIVC ring (protocol version 1).
 *
 * Models ivc-protocol.md sections 3 (framing), 4 (memory ordering),
 * 5 (notification with suppression) and the orderly close of section 6 for
 * one ring: a producer process and a consumer process sharing
 *
 *   ring[SIZE]             the data area
 *   prod, space_req        the producer line (only the producer writes)
 *   cons, data_req         the consumer line (only the consumer writes)
 *   closed, space_req_side the producer's side line
 *   data_req_side          the consumer's side line
 *   pending[P], pending[C] the sticky event-channel pending bit of each side
 *
 * Two refinements of section 4 item 8 and section 8.2:
 *  - each side keeps the peer's index as last loaded (pc, pp) and loads it
 *    again only when the cached one shows too little room or data, and in
 *    the re-check before sleeping;
 *  - each request counter is written in both places, the index line and
 *    the side line (SIDE_REQ), both before the fence; each reader reads
 *    the index-line copy until, at a moment of spin's choosing, it
 *    switches to the side-line copy for good (side 0 learns that the
 *    feature is in use only when side 1 has attached).
 *
 * Abstractions (see README.md):
 *  - Indexes are free-running modulo IDXMOD (8), a power of two larger than
 *    SIZE (4), instead of modulo 2^32. NMSG = 7 messages carry 13 bytes, so
 *    the indexes wrap once and the data area three times.
 *  - The message length header is ONE byte here; on the wire it is a
 *    little-endian u32 (4 bytes), and max_msg is SIZE - 1 here instead of
 *    2^order - 4. Payload lengths cycle 0, 1, 2: zero-length messages,
 *    variable lengths, and wrap-around of the header and of the payload at
 *    the end of the data area all occur.
 *  - Promela interleaves statements in one sequentially consistent order.
 *    That is what the full (seq_cst) fences of section 5 provide: each
 *    "full fence" comment marks a place where real code needs one; the
 *    release stores and acquire loads of section 4 are likewise implicit.
 *  - Each shared value is read once into a local per operation and the
 *    local copy is checked and used, as the spec requires. d_step groups a
 *    single shared access with purely local work only; they do not hide any
 *    interleaving of shared accesses.
 *  - The request counters are bytes; they never wrap in this model (see
 *    section 5.7 of the spec about u32 wrap).
 *  - Timeouts are not modelled: with them a deadlock would become an
 *    endless cycle of time-outs, which a safety search does not report.
 *
 * Correctness is checked by
 *  - assertions: FIFO order and byte-by-byte integrity of every message;
 *    no overflow (prod - cons <= SIZE, checked by both sides); every message
 *    received before end-of-stream; and "no stranded sleeper": once one side
 *    has completed an operation, including its notification duty, the other
 *    side is never asleep while its condition holds with no wake-up pending;
 *  - invalid end states: the only valid end state is "producer sent all and
 *    closed, consumer drained and saw end-of-stream". A lost wake-up that
 *    leaves one side or both asleep for ever is an invalid end state.
 *
 * Broken variants, each rejected by spin (check.sh verifies that):
 *   -DNO_RECHECK            consumer sleeps without re-reading prod after
 *                           bumping data_req (the classic lost wake-up)
 *   -DNO_SPACE_RECHECK      the same mistake on the space side (producer)
 *   -DNOTIFY_BEFORE_PUBLISH producer reads data_req before publishing prod
 *   -DPUBLISH_BEFORE_WRITE  producer publishes prod before writing the payload
 *   -DNO_CLOSE_SIGNAL       close does not signal unconditionally
 *   -DEOF_NO_REREAD         consumer decides end-of-stream without re-reading
 *                           prod after seeing closed (no drain)
 *   -DSTALE_RECHECK         consumer re-checks its cached prod, not a fresh
 *                           load, before sleeping (section 4 item 8)
 *   -DSIDE_COPY_LATE        consumer writes the side-line copy of data_req
 *                           after its re-check (section 8.2 item 2)
 */

#ifndef NMSG
#define NMSG 7
#endif

#define SIZE 4   /* ring data area in bytes (2^order on the wire) */
#define IDXMOD 8 /* free-running index modulus (2^32 on the wire) */
#define HDR 1    /* length header bytes (4 on the wire) */
#define MAXMSG (SIZE - HDR)

#define P 0 /* the producing side */
#define C 1 /* the consuming side */

#define USED(pp, cc) (((pp) + IDXMOD - (cc)) % IDXMOD)
#define MSGLEN(i) ((i) % 3)
/* Payload byte k of message i: distinct for every (i, k), never a valid
 * length, never the initial 0, so stale bytes cannot pass for fresh ones.
 * The consumer recovers the sequence number from it. */
#define PAYLOAD(i, k) (16 + 2 * (i) + (k))

/* Shared memory. */
byte ring[SIZE];
byte prod;      /* producer line: prod */
byte space_req; /* producer line: space_req */
byte cons;      /* consumer line: cons */
byte data_req;  /* consumer line: data_req */
bit closed;     /* producer's side line: closed */
byte space_req_side; /* producer's side line: copy of space_req */
byte data_req_side;  /* consumer's side line: copy of data_req */

/* Event channel: one sticky pending bit per side. Signalling sets the
 * peer's bit, whether or not the peer sleeps. A sleeper blocks until its
 * bit is set, clears it and goes back to re-check, so a wake-up may be
 * spurious (left over from an earlier request). */
bit pending[2];

/* Ghost state for the "no stranded sleeper" assertions; not protocol. */
bit sleeping[2];
byte p_need; /* bytes of space the sleeping producer waits for */

/* Sleep until signalled. The atomic sequence blocks on pending[me] and
 * loses atomicity while blocked; a process blocked here for ever is an
 * invalid end state. */
inline sleep(me)
{
	atomic {
		sleeping[me] = 1;
		pending[me];
		pending[me] = 0;
		sleeping[me] = 0
	}
}

/* Asserted by the producer when it has completed an operation: if the
 * consumer sleeps while data is available or the ring is closed, its
 * wake-up must already be pending. */
#ifdef NO_STRANDED_ASSERTS
/* Rely on invalid-end-state detection alone. */
#define CONSUMER_NOT_STRANDED skip
#define PRODUCER_NOT_STRANDED skip
#else
#define CONSUMER_NOT_STRANDED \
	assert(!(sleeping[C] && (prod != cons || closed) && !pending[C]))

/* Asserted by the consumer when it has completed an operation: if the
 * producer sleeps while the space it waits for is free, its wake-up must
 * already be pending. */
#define PRODUCER_NOT_STRANDED \
	assert(!(sleeping[P] && SIZE - USED(prod, cons) >= p_need && !pending[P]))
#endif

active proctype producer()
{
	byte p = 0;    /* authoritative local copy of prod */
	byte sreq = 0; /* authoritative local copy of space_req */
	byte seen = 0; /* peer_req_seen: the data_req value last answered */
	byte i = 0;    /* sequence number of the message being sent */
	byte pc = 0;   /* cons as last loaded and checked */
	bit side = 0;  /* reads the consumer's request from its side line */
	byte mlen, k, c, used, d;

	do
	:: i < NMSG ->
		mlen = MSGLEN(i);

		/* Wait until HDR + mlen bytes are free. */
		do
		:: used = USED(p, pc); /* the cached cons first */
			if
			:: SIZE - used < HDR + mlen ->
				d_step { /* acquire load of cons, read once */
					c = cons;
					used = USED(p, c);
					assert(used <= SIZE); /* producer-side overflow check */
					pc = c;
					c = 0
				}
			:: else -> skip
			fi;
			if
			:: SIZE - used >= HDR + mlen -> break
			:: else ->
				/* prepare_wait(TX): ask for a wake-up, both copies ... */
				d_step { sreq++; space_req = sreq }
				space_req_side = sreq;
				/* ... full fence ... */
#ifndef NO_SPACE_RECHECK
				/* ... then re-check before sleeping. */
				d_step {
					c = cons;
					used = USED(p, c);
					assert(used <= SIZE);
					pc = c;
					c = 0
				}
				if
				:: SIZE - used >= HDR + mlen -> skip /* ready: do not sleep */
				:: else ->
					p_need = HDR + mlen;
					sleep(P)
				fi
#else
				/* BROKEN: sleeps without re-checking cons. */
				p_need = HDR + mlen;
				sleep(P)
#endif
			fi
		od;
		used = 0;

		/* Write the header, then the payload, then publish. */
		ring[p % SIZE] = mlen;
#ifdef NOTIFY_BEFORE_PUBLISH
		/* BROKEN: the notification check precedes publication. */
		d = data_req;
		if
		:: d != seen -> d_step { seen = d; pending[C] = 1 }
		:: else -> skip
		fi;
		d = 0;
#endif
#ifdef PUBLISH_BEFORE_WRITE
		/* BROKEN: prod covers the payload before it is written. */
		prod = (p + HDR + mlen) % IDXMOD;
#endif
		k = 0;
		do
		:: k < mlen -> d_step { ring[(p + HDR + k) % SIZE] = PAYLOAD(i, k); k++ }
		:: else -> break
		od;
		k = 0;
		p = (p + HDR + mlen) % IDXMOD;
		prod = p; /* release store: publishes the whole message */

#ifndef NOTIFY_BEFORE_PUBLISH
		/* notify_check: full fence, then read data_req once, from the
		 * copy in use (the switch to the side line comes at any time). */
		if
		:: !side -> side = 1
		:: true -> skip
		fi;
		if
		:: side -> d = data_req_side
		:: else -> d = data_req
		fi;
		if
		:: d != seen -> d_step { seen = d; pending[C] = 1 } /* signal */
		:: else -> skip
		fi;
		d = 0;
#endif
		atomic { CONSUMER_NOT_STRANDED; i++ }
	:: else -> break
	od;

	/* Orderly close: after the last prod update, closed = 1 (release),
	 * then signal unconditionally. */
	closed = 1;
#ifndef NO_CLOSE_SIGNAL
	pending[C] = 1;
#endif
	CONSUMER_NOT_STRANDED
}

active proctype consumer()
{
	byte c = 0;      /* authoritative local copy of cons */
	byte dreq = 0;   /* authoritative local copy of data_req */
	byte seen = 0;   /* peer_req_seen: the space_req value last answered */
	byte expect = 0; /* sequence number of the next message */
	byte pp = 0;     /* prod as last loaded and checked */
	bit side = 0;    /* reads the producer's request from its side line */
	byte p, avail, mlen, k, b;

	do
	:: avail = USED(pp, c); /* the cached prod first: it ends a message */
		if
		:: avail == 0 ->
			d_step { /* acquire load of prod, read once */
				p = prod;
				avail = USED(p, c);
				assert(avail <= SIZE); /* consumer-side overflow check */
				pp = p;
				p = 0
			}
		:: else -> skip
		fi;
		if
		:: avail > 0 ->
			/* (With a one-byte header, 0 < avail < HDR cannot occur; on
			 * the wire it is a violation.) Header, read once: */
			d_step {
				mlen = ring[c % SIZE];
				assert(mlen <= MAXMSG);       /* length > max_msg */
				assert(HDR + mlen <= avail);  /* partial publication */
				assert(expect < NMSG);        /* nothing after the last */
				assert(mlen == MSGLEN(expect)); /* FIFO: the right message */
				avail = 0
			}
			k = 0;
			do
			:: k < mlen -> /* integrity and order, byte by byte */
				d_step {
					assert(ring[(c + HDR + k) % SIZE] == PAYLOAD(expect, k));
					k++
				}
			:: else -> break
			od;
			k = 0;
			d_step { c = (c + HDR + mlen) % IDXMOD; mlen = 0 }
			cons = c; /* release store: frees the space */
			expect++;

			/* notify_check: full fence, then read space_req once,
			 * from the copy in use. */
			if
			:: !side -> side = 1
			:: true -> skip
			fi;
			if
			:: side -> b = space_req_side
			:: else -> b = space_req
			fi;
			if
			:: b != seen -> d_step { seen = b; pending[P] = 1 } /* signal */
			:: else -> skip
			fi;
			atomic { b = 0; PRODUCER_NOT_STRANDED }
		:: else ->
			/* Ring empty: check the producer's state. */
			if
			:: closed -> /* acquire */
#ifndef EOF_NO_REREAD
				p = prod; /* re-read: drain before end-of-stream */
				pp = p;
#else
				p = pp;
#endif
				if
				:: USED(p, c) == 0 -> break /* end-of-stream */
				:: else -> p = 0 /* more data: deliver it first */
				fi
			:: else ->
				/* prepare_wait(RX): ask for a wake-up, both copies ... */
				d_step { dreq++; data_req = dreq }
#ifndef SIDE_COPY_LATE
				data_req_side = dreq;
#endif
				/* ... full fence ... */
#ifndef NO_RECHECK
				/* ... then re-check prod and closed. */
#ifndef STALE_RECHECK
				p = prod;
				pp = p;
#else
				p = pp; /* BROKEN: the cached prod */
#endif
				if
				:: p != c || closed -> p = 0 /* ready: do not sleep */
				:: else ->
					p = 0;
					sleep(C)
				fi;
#ifdef SIDE_COPY_LATE
				data_req_side = dreq; /* BROKEN: after the re-check */
#endif
#else
				/* BROKEN: sleeps without re-checking prod. */
				p = 0;
				sleep(C)
#endif
			fi
		fi
	od;

	assert(expect == NMSG) /* every message arrived before end-of-stream */
}
