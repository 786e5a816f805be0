/* SPDX-License-Identifier: MIT */
/*
 * rendezvous.pml - Promela model of the brokered rendezvous
 * (ivc-protocol.md section 9.11): the daemon, one listener and one client
 * race while the client's domain may die, the listener's domain may die,
 * the client's or the listener's process may die in a living domain, and
 * the daemon may be killed and restarted, each at any point.
 *
 * XenStore nodes are shared variables (a node's existence and value); a
 * XenStore transaction is an atomic block; a guest's write to a node that
 * is not there fails and has no effect (a guest cannot create nodes in a
 * chan/ directory). Domain S (the listener's) and domain C (the
 * client's) each have an area:
 *
 *   /rendezvous/S/req/<lk>, ans/<lk> = ok   listen_rec: S is registered
 *   /rendezvous/S/ans/<lk>/<X>              marker: a client waits for S
 *   /rendezvous/S/chan/l<X>, peer, state    lend, lpeer, lstate
 *   /rendezvous/C/req/<k>                   req: the connect request
 *   /rendezvous/C/ans/<k>                   ans: NONE, OK or REFUSED
 *   /rendezvous/C/chan/c<X>, peer, state,   cend, cpeer, cstate,
 *                            offer          offer
 *   /rendezvous/C/gone/S, /rendezvous/S/gone/C   note_c, note_s
 *
 * The channel's shared memory is reduced to the two side lines (6.1) as
 * the peer reads them (lside, cside: not up yet, up, closed). A domain's
 * death does not change its side line (6.1 item 4): the survivor learns
 * of it through its `peer` node (9.11.5 item 2) and then finds the side
 * line still up: dead. A process's death in a living domain does: its
 * kernel's unmap notification clears its `live` byte and signals the
 * peer (6.1 item 3: SL_GONE), but it writes nothing in XenStore; its
 * context's liveness port closes, which the daemon finds within a second
 * (9.11.1 item 5) and then closes what the context left (9.11.4 item 4).
 *
 * The daemon watches /rendezvous and @releaseDomain. Its pending watch
 * events are sticky bits, one per kind of event it acts on (ev_req: C's
 * request written or removed; ev_lst, ev_cst: an end's state written;
 * ev_rel: @releaseDomain). A handler reads the current values, so several
 * writes may be handled as one, and a state may have moved on (`offered`,
 * then `open`) by the time it is read. Killing the daemon loses its
 * pending events and its local variables; the restarted daemon knows
 * only what XenStore holds and handles what it finds there as if the
 * events had just come (9.11.7).
 *
 * Nondeterministic choices, made once at the start: which faults occur,
 * each at most once and then at any later point (the client's domain
 * dies, the listener's domain dies, the daemon is killed and restarted;
 * with -DPROCESS_DEATHS each side's process may die in its living domain
 * instead of its domain);
 * whether the client's deadline and the listener's attach bound can
 * expire. In the runs where they cannot, the protocol alone must end
 * every wait. Each side of an established channel may close at any time,
 * or wait to be told that its peer closed or died, or keep the channel
 * for ever.
 *
 * Checked:
 *  (1) no leak: in every terminal state (the client finished, dead or
 *      holding an established channel; the listener idle, dead or holding
 *      it; dead: its domain or its process; the daemon idle) there is no
 *      marker, no request or answer of
 *      the client, no area of a dead domain, and either no end at all or
 *      an established channel that both sides still hold: both ends
 *      there, `open`, each with its `peer`;
 *  (2) told: a side whose peer closed or died sees its `peer` node go.
 *      A side never told keeps an end that (1) finds; a told side
 *      classifies its peer by the side line, and "dead" must mean that
 *      the peer's domain died (9.11.5 item 2);
 *  (3) the client attaches only while the listener's end exists, and the
 *      listener writes `open` (reports the channel established) only if
 *      the client attached;
 *  (4) no deadlock: every process ends or waits at an end label (the
 *      listener for clients, the daemon for events, a side holding a
 *      channel for its peer). The waits for the answer, the offer and the
 *      attach are not end states.
 *
 * Where the text of 9.11 alone does not give these properties, the model
 * does what the implementation does or should do, and a SPEC_ variant
 * shows the failure of the literal text (see README.md):
 *   -DSPEC_REQ_GONE        9.11.3 item 5: when a connect request goes, the
 *                          daemon only removes its answer. (Model: if the
 *                          client's end is still in state "", because the
 *                          client gave up before the answer made its end,
 *                          the daemon writes `closed` there.)
 *   -DSPEC_CLOSE_STEPS     9.11.4 item 2 as separate writes in the order
 *                          written (that end first). (Model: one
 *                          transaction.)
 *   -DSPEC_CLOSE_KEEPS_MARKER 9.11.4 item 2 leaves the channel's marker.
 *                          (Model: removes it.)
 *   -DSPEC_DEATH_KEEPS_END 9.11.6 removes only the `peer` of an end whose
 *                          peer's domain went. (Model: an end still in
 *                          state "", whose listener never took the client,
 *                          goes too: its marker goes, so nobody else would.)
 *   -DSPEC_RESTART         9.11.7: the restarted daemon handles requests
 *                          with no answer and states, not answers whose
 *                          request went. (Model: those too.)
 *   -DSPEC_ANSWER_WAIT     9.11.5 item 4: a client waiting for its answer
 *                          stops only at its deadline. (Model: also when
 *                          its request is gone: the daemon removes request,
 *                          answer and end together when the listener
 *                          withdraws before the client read `ok`.)
 *
 * Broken variants, each rejected (check.sh verifies that):
 *   -DMARKER_OFFERED_ONLY  the daemon removes the marker when the listener's
 *                          state reads `offered`, not when it reads `open`
 *   -DNO_UNATTACHED_REMOVAL the daemon removes only the other end's `peer`
 *                          when an end closes, also when the other end
 *                          never attached (state "")
 *   -DRESTART_NO_STATES    the restarted daemon ignores the states it finds
 *   -DRESTART_NO_DEATHS    the restarted daemon does not look for domains
 *                          that went while it was down
 *   -DWITHDRAW_STATE_FIRST the listener writes `closed` before it releases
 *                          the channel
 *   -DPEER_GONE_ATTACHED   the listener takes the loss of its `peer` node as
 *                          "attached and closed since" without looking at
 *                          the side line
 *   -DNO_OWNER_CHECK       the daemon does not close what a context that
 *                          went left behind (9.11.4 item 4)
 *   -DNO_NOTICE_RM         the daemon leaves the notices (9.11.5 item 2)
 */

/* An end's state (9.11.9); also what a missing state node reads as. */
#define EMPTY 0
#define OFFERED 1
#define OPEN 2
#define CLOSED 3
#define DEAD 4

/* The client's answer. */
#define NONE 0
#define OK 1
#define REFUSED 2

/* The offer node: empty, an offer, or error=ENOSPC. */
#define NO_OFFER 0
#define OFFER 1
#define OFFER_ERR 2

/* A side line as the peer reads it (6.1, 6.3). */
#define SL_NONE 0 /* not up yet */
#define SL_UP 1   /* live and attached */
#define SL_CLOSED 2
#define SL_GONE 3 /* its process went: `live` cleared, not closed */

/* ---- shared state ------------------------------------------------------ */

/* Domains: introduced or not. Processes (contexts): gone or not. */
bit s_alive = 1, c_alive = 1;
bit s_pgone, c_pgone;

/* XenStore. */
bit area_s = 1, area_c = 1; /* /rendezvous/S, /rendezvous/C */
bit listen_rec = 1;         /* S's listen request, answered ok */
bit marker;
bit lend, lpeer;
byte lstate;
bit req, cend, cpeer;
byte ans, cstate, offer;
/* Notices (9.11.5 item 2): /rendezvous/C/gone/S, /rendezvous/S/gone/C. */
bit note_c, note_s;

/* The side lines in the channel's control area. */
byte lside, cside;

/* The daemon's pending watch events, and its killer. */
bit ev_req, ev_lst, ev_cst, ev_rel;
bit dkill;

/* Choices made at the start. */
bit will_cdie, will_sdie, will_cpdie, will_spdie, will_kill, c_deadline, l_deadline;

/* Ghosts, not protocol. */
bit c_attached; /* the client attached at some time */
bit c_done;     /* the client's call returned, its channel (if any) closed */
bit c_est;      /* the client holds an established channel */
bit l_busy;     /* the listener is handling a client */
bit l_est;      /* the listener holds an established channel */

/* ---- XenStore ------------------------------------------------------------ */

/* Whole ends, with everything under them; a client's end goes with the
 * client's request and answer (9.11.4 item 2). */
inline rm_lend()
{
	lend = 0;
	lpeer = 0;
	lstate = EMPTY
}

inline rm_cend()
{
	cend = 0;
	cpeer = 0;
	cstate = EMPTY;
	offer = NO_OFFER;
	req = 0;
	ans = NONE
}

/* A guest writes the state of its own end; that fails if the end is gone
 * (and fires no watch). */
inline set_lstate(v)
{
	if
	:: lend -> lstate = v; ev_lst = 1
	:: else -> skip
	fi
}

inline set_cstate(v)
{
	if
	:: cend -> cstate = v; ev_cst = 1
	:: else -> skip
	fi
}

/* ---- the daemon ---------------------------------------------------------- */

/* Answering (9.11.3 items 2, 3), and a request that went (item 5). */
inline d_req()
{
	if
#ifdef PROCESS_DEATHS
	:: req && ans == NONE && c_pgone ->
		req = 0 /* its liveness port cannot be bound (9.11.3 item 2.1) */
#endif
	:: req && ans == NONE && !c_pgone ->
		if
		:: listen_rec && s_alive && !s_pgone ->
			if
			:: /* every check passes: one transaction */
				lend = 1; lpeer = 1; lstate = EMPTY;
				cend = 1; cpeer = 1; cstate = EMPTY; offer = NO_OFFER;
				marker = 1;
				ans = OK
			:: ans = REFUSED /* policy, type, sizes or backlog */
			fi
		:: else -> ans = REFUSED /* ENOENT, or its liveness port closed */
		fi
	:: !req && ans != NONE ->
		ans = NONE;
#ifndef SPEC_REQ_GONE
		/* A client that gave up before its end was made: it is closed. */
		if
		:: cend && cstate == EMPTY -> cstate = CLOSED; ev_cst = 1
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi
}

/* The other end of an end that closed: removed if the closing side found
 * its peer dead or the other end never attached, else told by the loss of
 * its `peer` (9.11.4 item 2). */
#ifdef NO_UNATTACHED_REMOVAL
#define RM_OTHER(st) (dead)
#else
#define RM_OTHER(st) (dead || (st) == EMPTY)
#endif

inline other_c()
{
	if
	:: cend && RM_OTHER(cstate) -> rm_cend()
	:: else -> cpeer = 0
	fi;
	dead = 0
}

inline other_l()
{
	if
	:: lend && RM_OTHER(lstate) -> rm_lend()
	:: else -> lpeer = 0
	fi;
	dead = 0
}

/* 9.11.4 item 2 in one transaction, or (the text read literally) the
 * other end in a later write: the daemon may be killed in between. */
#ifdef SPEC_CLOSE_STEPS
#define NOW(f) todo = 1
#define LATER(f) ; if :: todo -> atomic { todo = 0; f() } :: else -> skip fi
#else
#define NOW(f) f()
#define LATER(f)
#endif

#ifdef SPEC_CLOSE_KEEPS_MARKER
#define RM_MARKER_OF_CLOSED_CLIENT skip
#else
#define RM_MARKER_OF_CLOSED_CLIENT marker = 0
#endif

/* The listener's end changed state (9.11.3 item 4, 9.11.4 item 2). */
inline d_lst()
{
	if
#ifdef MARKER_OFFERED_ONLY
	:: lend && lstate == OFFERED -> marker = 0
#else
	:: lend && (lstate == OFFERED || lstate == OPEN) -> marker = 0
#endif
	:: lend && (lstate == CLOSED || lstate == DEAD) ->
		dead = (lstate == DEAD);
		rm_lend();
		marker = 0; /* "offered or later" */
		NOW(other_c)
	:: else -> skip
	fi
}

/* The client's end changed state (9.11.4 item 2). */
inline d_cst()
{
	if
	:: cend && (cstate == CLOSED || cstate == DEAD) ->
		dead = (cstate == DEAD);
		rm_cend();
		RM_MARKER_OF_CLOSED_CLIENT;
		NOW(other_l)
	:: else -> skip
	fi
}

/* @releaseDomain (9.11.5 item 2, 9.11.6): which domains went, then for
 * each: the `peer` of the ends whose peer it was and its clients'
 * markers, then its area. These are separate writes; the daemon may be
 * killed between them. */
/* The notices first: one per surviving domain with an end whose peer
 * went. */
inline d_rel_notes()
{
	gone_c = (!c_alive && area_c);
	gone_s = (!s_alive && area_s);
	if
	:: gone_c && lend && area_s -> note_s = 1
	:: else -> skip
	fi;
	if
	:: gone_s && cend && area_c -> note_c = 1
	:: else -> skip
	fi
}

inline d_rel_c_peers()
{
	if
	:: gone_c ->
		if
		:: lend ->
			lpeer = 0;
#ifndef SPEC_DEATH_KEEPS_END
			if
			:: lstate == EMPTY -> rm_lend() /* never taken */
			:: else -> skip
			fi
#endif
		:: else -> skip
		fi;
		marker = 0
	:: else -> skip
	fi
}

inline d_rel_s_peers()
{
	if
	:: gone_s -> cpeer = 0
	:: else -> skip
	fi
}

/* The notices of the domains that went go, before their areas. */
inline d_rel_notes_rm()
{
#ifndef NO_NOTICE_RM
	if
	:: gone_c -> note_s = 0
	:: else -> skip
	fi;
	if
	:: gone_s -> note_c = 0
	:: else -> skip
	fi
#else
	skip
#endif
}

inline d_rel_c_area()
{
	if
	:: gone_c -> area_c = 0; rm_cend(); note_c = 0
	:: else -> skip
	fi;
	gone_c = 0
}

inline d_rel_s_area()
{
	if
	:: gone_s -> area_s = 0; listen_rec = 0; marker = 0; rm_lend(); note_s = 0
	:: else -> skip
	fi;
	gone_s = 0
}

/* A context that went (9.11.4 item 4), found by its liveness port: the
 * client's ends closed and its refusal removed; the listener dropped
 * (its waiting client refused, 9.11.2 item 5), then its ends closed.
 * Guarded by what XenStore holds: a restarted daemon binds the ports it
 * finds there and sees the same (9.11.7). */
inline d_client_gone()
{
	if
	:: cend ->
		dead = 0;
		rm_cend();
		RM_MARKER_OF_CLOSED_CLIENT;
		other_l()
	:: else -> skip
	fi;
	if
	:: req && ans == REFUSED -> req = 0; ans = NONE
	:: else -> skip
	fi
}

inline d_listener_gone()
{
	listen_rec = 0;
	if
	:: marker -> marker = 0; rm_lend(); cpeer = 0
	:: else -> skip
	fi
}

inline d_lend_gone()
{
	dead = 0;
	rm_lend();
	marker = 0;
	other_c()
}

#define C_GONE (c_pgone && c_alive)
#define S_GONE (s_pgone && s_alive)

proctype daemon()
{
	bit dead; /* the end that closed said `dead` */
	bit gone_c, gone_s; /* domains that went */
#ifdef SPEC_CLOSE_STEPS
	bit todo; /* the other end is still to be handled */
#endif

end_again:
	{
end_wait:
		do
		:: atomic { ev_req -> ev_req = 0; d_req() }
		:: atomic { ev_lst -> ev_lst = 0; d_lst() } LATER(other_c)
		:: atomic { ev_cst -> ev_cst = 0; d_cst() } LATER(other_l)
		:: atomic { ev_rel -> ev_rel = 0; d_rel_notes() };
			atomic { d_rel_c_peers() };
			atomic { d_rel_s_peers() };
			atomic { d_rel_notes_rm() };
			atomic { d_rel_c_area() };
			atomic { d_rel_s_area() }
#if defined(PROCESS_DEATHS) && !defined(NO_OWNER_CHECK)
		:: atomic { C_GONE && (cend || (req && ans == REFUSED)) -> d_client_gone() }
		:: atomic { S_GONE && listen_rec -> d_listener_gone() }
		:: atomic { S_GONE && !listen_rec && lend -> d_lend_gone() }
#endif
		od
	} unless { dkill };

	/* Killed, and restarted: it knows only XenStore and handles what it
	 * finds there (9.11.7). */
	atomic {
		dkill = 0;
		dead = 0;
		gone_c = 0;
		gone_s = 0;
		/* Notices left by the killed daemon are removed before any
		 * channel is made (9.11.7; the daemon does it once it has
		 * dealt again with the domains that went, which rewrites and
		 * removes those of a domain it was dealing with). */
		note_c = 0;
		note_s = 0;
#ifdef SPEC_CLOSE_STEPS
		todo = 0;
#endif
#ifdef SPEC_RESTART
		ev_req = (req && ans == NONE); /* only requests with no answer */
#else
		ev_req = 1;
#endif
#ifdef RESTART_NO_STATES
		ev_lst = 0;
		ev_cst = 0;
#else
		ev_lst = 1;
		ev_cst = 1;
#endif
#ifdef RESTART_NO_DEATHS
		ev_rel = 0
#else
		ev_rel = 1 /* areas of domains no longer there (9.11.6) */
#endif
	};
	goto end_again
}

/* ---- the client ---------------------------------------------------------- */

proctype client()
{
	{
		atomic { req = 1; ev_req = 1 }; /* 9.11.3 item 1 */

		/* The answer (9.11.5 item 4). */
		if
		:: ans == OK -> skip
		:: ans == REFUSED -> goto give_up
#ifndef SPEC_ANSWER_WAIT
		:: !req -> goto give_up /* the daemon dropped it: ECONNREFUSED */
#endif
		:: c_deadline -> goto give_up /* ETIMEDOUT */
		fi;

		/* Its end record (9.11.3 item 5). */
		if
		:: cend -> skip
		:: else -> goto give_up
		fi;

		/* The offer, or its listener's going. */
		if
		:: offer == OFFER -> skip
		:: offer == OFFER_ERR -> goto give_up
		:: !cpeer -> goto give_up /* also: the whole end gone */
		:: c_deadline -> goto give_up
		fi;

		/* Attach (9.6 client steps): map S's pages; refused unless side 0
		 * is live and not closed (6.6). */
		atomic {
			if
			:: s_alive && lside == SL_UP ->
				assert(lend); /* (3) never to a removed listener end */
				cside = SL_UP;
				c_attached = 1
			:: else -> goto give_up
			fi
		};
		atomic { set_cstate(OPEN) };
		atomic {
			if
			:: req -> req = 0; ev_req = 1
			:: else -> skip
			fi;
			c_est = 1
		};

		/* Established: close, or keep the channel until told that the
		 * peer went (9.11.5 item 2) or signalled by its unmap (6.1). */
		if
		:: atomic { /* orderly close (6.2), then the state (9.11.4) */
				cside = SL_CLOSED;
				set_cstate(CLOSED);
				c_est = 0;
				c_done = 1
			}
		:: skip ->
end_c_holds:
			atomic {
				(!cpeer || note_c || lside == SL_GONE) -> /* (2) told: the side line says how */
				if
				:: lside == SL_CLOSED -> cside = SL_CLOSED; set_cstate(CLOSED)
				:: else -> assert(!s_alive || s_pgone); cside = SL_CLOSED; set_cstate(DEAD)
				fi;
				c_est = 0;
				c_done = 1
			}
		fi;
		goto end_client;

give_up:
		atomic { set_cstate(CLOSED) };
		atomic {
			if
			:: req -> req = 0; ev_req = 1
			:: else -> skip
			fi;
			c_done = 1
		};
end_client:
		skip
	} unless { !c_alive || c_pgone }
}

/* ---- the listener -------------------------------------------------------- */

proctype listener()
{
	{
		skip;
		/* Registered; a marker says a client waits (9.11.3 item 4).
		 * It takes the client if its own end is there with state "". */
end_idle:
		atomic { marker && lend && lstate == EMPTY -> l_busy = 1 };

		if
		:: atomic { /* 9.6 steps 1-4: the channel, side 0 up; then the
			     * offer and the state in one transaction */
				lside = SL_UP;
				if
				:: cend && lend -> offer = OFFER; lstate = OFFERED; ev_lst = 1
				:: else -> goto withdraw /* an end went: it fails */
				fi
			}
		:: atomic { /* it cannot allocate the channel */
				if
				:: cend -> offer = OFFER_ERR
				:: else -> skip
				fi;
				set_lstate(CLOSED);
				l_busy = 0;
				goto end_listener
			}
		fi;

		/* Keep the offer until the client attaches (9.11.3 item 6). */
		if
		:: cside != SL_NONE -> skip /* attached, maybe closed since */
#ifdef PEER_GONE_ATTACHED
		:: !lpeer -> skip
#else
		:: (!lpeer || note_s) && cside == SL_NONE -> goto withdraw /* client went */
#endif
		:: l_deadline -> goto withdraw
		fi;
		atomic {
			assert(c_attached); /* (3) established only if attached */
			set_lstate(OPEN);
			l_est = 1
		};

		/* Established. */
		if
		:: atomic {
				lside = SL_CLOSED;
				set_lstate(CLOSED);
				l_est = 0;
				l_busy = 0
			}
		:: skip ->
end_l_holds:
			atomic {
				(!lpeer || note_s || cside == SL_GONE) -> /* (2) told */
				if
				:: cside == SL_CLOSED -> lside = SL_CLOSED; set_lstate(CLOSED)
				:: else -> assert(!c_alive || c_pgone); lside = SL_CLOSED; set_lstate(DEAD)
				fi;
				l_est = 0;
				l_busy = 0
			}
		fi;
		goto end_listener;

withdraw:
#ifdef WITHDRAW_STATE_FIRST
		atomic { set_lstate(CLOSED) };
		atomic { lside = SL_CLOSED; l_busy = 0 };
#else
		lside = SL_CLOSED; /* release the channel (6.6), then say so */
		atomic { set_lstate(CLOSED); l_busy = 0 };
#endif
end_listener:
		skip
	} unless { !s_alive || s_pgone }
}

/* ---- faults ---------------------------------------------------------------- */

proctype faults()
{
	bit killed;

	do
	:: will_cdie && c_alive -> atomic { c_alive = 0; ev_rel = 1 }
	:: will_sdie && s_alive -> atomic { s_alive = 0; ev_rel = 1 }
#ifdef PROCESS_DEATHS
	:: will_cpdie && c_alive && !c_pgone ->
		atomic { /* unmap notification (6.1 item 3); nothing in XenStore */
			c_pgone = 1;
			if
			:: cside == SL_UP -> cside = SL_GONE
			:: else -> skip
			fi
		}
	:: will_spdie && s_alive && !s_pgone ->
		atomic {
			s_pgone = 1;
			if
			:: lside == SL_UP -> lside = SL_GONE
			:: else -> skip
			fi
		}
#endif
	:: will_kill && !killed -> atomic { killed = 1; dkill = 1 }
	:: else -> break
	od
}

/* ---- the end: nothing left behind ------------------------------------------ */

/* Runs only when nothing else can move. If a party is stuck in a wait
 * that is not an end state, pan reports that; else (1) must hold. */
#define SETTLED                                                                  \
	((c_done || c_est || !c_alive || c_pgone) && (!l_busy || l_est || !s_alive || s_pgone))
#define HELD (c_est && c_alive && !c_pgone && l_est && s_alive && !s_pgone)

proctype monitor()
{
	bit settled, held;

	timeout ->
	atomic {
		settled = SETTLED;
		held = HELD;
		assert(!settled || !req);
		assert(!settled || ans == NONE);
		assert(!settled || !marker);
		assert(!settled || (!note_c && !note_s));
		assert(!settled || c_alive || !area_c);
		assert(!settled || s_alive || !area_s);
		assert(!settled || held || (!lend && !cend));
		assert(!settled || !held ||
		       (lend && cend && lpeer && cpeer && lstate == OPEN && cstate == OPEN))
	}
}

init
{
	atomic {
		/* Each side's domain may die, or (with -DPROCESS_DEATHS) its
		 * process in a living domain instead: one run per choice. */
		if
		:: will_cdie = 1
#ifdef PROCESS_DEATHS
		:: will_cpdie = 1
#endif
		:: skip
		fi;
		if
		:: will_sdie = 1
#ifdef PROCESS_DEATHS
		:: will_spdie = 1
#endif
		:: skip
		fi;
		if
		:: will_kill = 1
		:: skip
		fi;
		if
		:: c_deadline = 1
		:: skip
		fi;
		if
		:: l_deadline = 1
		:: skip
		fi;
		run daemon();
		run client();
		run listener();
		run faults();
		run monitor()
	}
}
