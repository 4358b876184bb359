"""The sliding-window generator's sequencing (:mod:`hwgen.layers.sliding_window`): the reader's walk over
the windows and the writer's bound on the circular buffer, both built so that the handshakes select among
values computed from flip-flops (no adder, comparator or table read after the read issue or ``i.valid``).
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Mux, Signal

from hwgen.layers import _common as c

__all__ = ["advance", "col_start", "reader_gap", "row_start", "writer"]


def writer(m, s, i, wr, wb, lead, issue, ends, lb_next):
    """Writer: ahead of the oldest needed beat by less than the buffer, and never two frames ahead.

    ``i.ready`` is a flip-flop loaded with that test on the next values of what it tests. The next
    write beat is ``wb`` or ``wb1`` (= wb + 1, kept in a register) as a beat is written or not; the next
    room is ``room`` or the new window's ``room_new`` (registered from ``lb_next``) as a window ends
    or not. Windows of four beats or more have the four comparisons of each bound in flip-flops, loaded
    a cycle ahead (each next value selected by the handshakes from carry chains on flip-flops); shorter
    windows compare combinationally. The next ``ready`` is computed for the four outcomes (issued or
    not, written or not) onto kept wires, and the handshakes select among them last, the read issue
    (the deepest of them) at the very end: ``ends`` are the flags (window end, frame end) that say what
    an issue this cycle would end."""
    depth, frame = s.buffer_depth, s.in_beats
    wb, wb_zero = wb
    lead, w_wrap = lead
    window_end, frame_end = ends
    adv = issue & window_end
    rng = c.range_shape(-frame, frame + depth)
    room = Signal(rng, init=depth)  # lb + depth
    room_ahead = Signal(rng, init=depth - frame)  # lb + depth - frame: the bound one frame ahead
    room_new, ahead_new = Signal(rng), Signal(rng)
    if s.kh * s.kw * s.cf > 1:
        # a window has two beats or more, so the registers lb_next depends on (the window's position)
        # move at most every other cycle: one cycle late is soon enough
        m.d.sync += [room_new.eq(lb_next + depth), ahead_new.eq(lb_next + depth - frame)]
    else:
        m.d.comb += [room_new.eq(lb_next + depth), ahead_new.eq(lb_next + depth - frame)]
    with m.If(adv):
        m.d.sync += [room.eq(room_new), room_ahead.eq(ahead_new)]

    wb1 = Signal(c.idx(frame), init=1 % frame)  # incr_wrap(wb)
    wb_last, wb1_last = Signal(init=frame == 1), Signal(init=frame <= 2)  # wb, wb1 == frame - 1
    wslot = Signal(c.idx(depth))
    ready = Signal(init=1)
    m.d.comb += [
        i.ready.eq(ready),
        wr.addr.eq(wslot),
        wr.data.eq(i.payload),
        wr.en.eq(i.valid & ready),
        w_wrap.eq(wr.en & wb_last),
    ]
    with m.If(wr.en):
        m.d.sync += [
            wslot.eq(wslot + 1),
            wb.eq(wb1),
            wb_zero.eq(wb_last),
            wb1.eq(c.incr_wrap(wb1, frame)),
            wb_last.eq(wb1_last),
            wb1_last.eq(wb1 == (frame - 2) % frame),
        ]

    lt = {}  # (bound, wb or wb1, room or the new room): wb_n < the bound's next value
    # windows of four beats or more: the new room is steady from three cycles after a window ends until
    # the next one ends, so every comparison can be registered a cycle ahead, on the next values of what
    # it compares (wb2 = wb1 + 1 is the next wb1 after a write); shorter windows compare as they go
    ahead = s.kh * s.kw * s.cf >= 4
    beats = [wb, wb1]
    if ahead:
        beats.append(Signal(c.idx(frame), init=2 % frame, name="wb2"))
        with m.If(wr.en):
            m.d.sync += beats[2].eq(c.incr_wrap(beats[2], frame))
    for bound, new in ((room, room_new), (room_ahead, ahead_new)):
        for x in (0, 1):
            for y in (0, 1):
                init = x < (bound.init if y == 0 else new.init) if ahead else 0
                lt[bound.name, x, y] = sig = Signal(name=f"lt_{x}_{y}_{bound.name}", init=init)
                if not ahead:
                    m.d.comb += sig.eq(beats[x] < (new if y else bound))
                    continue
                # the comparisons on flip-flops; the handshakes select, the read issue (in adv) last
                after = [Mux(wr.en, beats[x + 1] < b, beats[x] < b) for b in (bound, new)]
                m.d.sync += sig.eq(after[1] if y else Mux(adv, after[1], after[0]))

    def ready_if(issued: bool, written: bool):  # the next ready, had the reader issued / a beat been written
        moved = window_end if issued else 0
        lead_n = lead + (wb_last if written else 0) - (frame_end if issued else 0)

        def below(bound):
            return Mux(moved, lt[bound, int(written), 1], lt[bound, int(written), 0])

        return c.lut_output(
            m,
            (lead_n == -1)
            | ((lead_n == 0) & below("room"))
            | ((lead_n == 1) & below("room_ahead") & ~(wb1_last if written else wb_last)),
            f"ready_{int(issued)}{int(written)}",
        )

    # four outcomes, each a function of flip-flops and the comparisons; the handshakes select last
    m.d.sync += ready.eq(
        Mux(
            issue,
            Mux(wr.en, ready_if(True, True), ready_if(True, False)),
            Mux(wr.en, ready_if(False, True), ready_if(False, False)),
        )
    )


def advance(m, sp, regs, issue):
    """A read issued: the counters move (each with a registered ``last`` flag: ``fold_counter``),
    and the registers that stand for functions of them move by constants.

    Returns the flags (window end, frame end) that say whether the beat an issue would read is the last of its
    window, of its frame; and ``lb_next``, the oldest beat the next window needs (0 in the next frame), a
    function of the window's position only (table lookups), not of ``issue``."""
    ty, tx, rbase, iy, ix, row_in, col_in, rb, wbase, row_lb, row_neg = regs
    s, (top, left), w, cf_n, frame = sp.stride, sp.borders[:2], sp.width, sp.cf, sp.in_beats
    # the window's counters, innermost first: (cf, kx, ky), or (kx, ky, cf) in depthwise order;
    # with what one step of each adds to (rb, ix, iy)
    counters = {"cf": (sp.cf, (1, 0, 0)), "kx": (sp.kw, (cf_n, 1, 0)), "ky": (sp.kh, (w * cf_n, 0, 1))}
    inner, step = [], issue
    for name in ("kx", "ky", "cf") if sp.depthwise else ("cf", "kx", "ky"):
        n, unit = counters[name]
        _, _, last, step = c.fold_counter(m, n, step, name)
        inner.append((last, n, unit))
    ox, _, ox_last, ox_wrap = c.fold_counter(m, sp.ow, step, "ox")
    oy, _, oy_last, _ = c.fold_counter(m, sp.oh, ox_wrap, "oy")

    def pixel(y, x) -> list:  # the tap moves to input pixel (y, x)
        new = [iy.eq(y), ix.eq(x), row_in.eq((y >= 0) & (y < sp.height)), col_in.eq((x >= 0) & (x < w))]
        return new

    def move(k: int) -> list:  # counter k moves on, the ones inside it return to 0
        delta = [u - sum((n - 1) * v[i] for _, n, v in inner[:k]) for i, u in enumerate(inner[k][2])]
        return [rb.eq(rb + moved(inner, k)), *pixel(iy + delta[2], ix + delta[1])]

    def window(ty_new, tx_new, wbase_new, row=None) -> list:
        new = [ty.eq(ty_new), tx.eq(tx_new), *pixel(ty_new, tx_new), wbase.eq(wbase_new)]
        new += [rb.eq(wbase_new)]
        if row is not None:
            new += [row_lb.eq(row[0]), row_neg.eq(row[1])]
        return new

    rows, cols = range(sp.oh), range(sp.ow)
    col_tab = Array(Const(col_start(sp, o + 1 if o + 1 < sp.ow else 0)) for o in cols)[ox]
    next_row = Array(Const(row_start(sp, o + 1 if o + 1 < sp.oh else 0)) for o in rows)[oy]
    next_neg = Array(Const((o + 1) * s < top) for o in rows)[oy]
    if sp.kh * sp.kw * cf_n >= 3:
        # windows of three beats or more: the position moves at most every third cycle, so the table
        # reads may be registered (and lb_next again, in writer) and still be current at the next end
        col_tab, next_row, next_neg = (
            c.delay(m, v, f"{n}_r")
            for v, n in ((col_tab, "col_lb"), (next_row, "next_row"), (next_neg, "next_neg"))
        )
    lb_next = Signal(c.idx(frame))
    with m.If(~ox_last):  # the next window in the row
        m.d.comb += lb_next.eq(Mux(row_neg, 0, row_lb + col_tab))
    with m.Elif(~oy_last):  # the first window of the next row
        m.d.comb += lb_next.eq(Mux(next_neg, 0, next_row + col_start(sp, 0)))
    (a_last, _, _), (b_last, _, _), (d_last, _, _) = inner
    with m.If(issue):
        with m.If(~a_last):
            m.d.sync += move(0)
        with m.Elif(~b_last):
            m.d.sync += move(1)
        with m.Elif(~d_last):
            m.d.sync += move(2)
        with m.Elif(~ox_last):
            m.d.sync += window(ty, tx + s, wbase + s * cf_n)
        with m.Elif(~oy_last):
            wb_new = wbase + (s * w - (sp.ow - 1) * s) * cf_n
            m.d.sync += window(ty + s, -left, wb_new, (next_row, next_neg))
        with m.Else():  # the first window of the next frame
            first = (-top * w - left) * cf_n
            m.d.sync += window(-top, -left, first, (row_start(sp, 0), top > 0))
            m.d.sync += rbase.eq(rbase + sp.in_beats % sp.buffer_depth)
    window_end = a_last & b_last & d_last
    # what an issue now adds to the reader's place in the stream of all frames (rb, plus a frame when
    # it moves into the next frame): a constant per case, since rb - wbase is the last tap's offset
    # whenever a window ends
    last_off = sum((n - 1) * v[0] for _, n, v in inner)
    corner = ((sp.oh - 1) * s * w + (sp.ow - 1) * s) * cf_n  # wbase of the frame's last window
    steps = [moved(inner, k) for k in range(3)] + [
        s * cf_n - last_off,
        (s * w - (sp.ow - 1) * s) * cf_n - last_off,
        frame - corner - last_off,
    ]
    flags = (a_last, b_last, d_last, ox_last, oy_last)
    return (window_end, window_end & ox_last & oy_last), lb_next, (flags, steps)


def moved(inner, k: int) -> int:
    """Beats that counter ``k`` moving on (the ones inside it returning to 0) adds to rb."""
    return inner[k][2][0] - sum((n - 1) * v[0] for _, n, v in inner[:k])


def reader_gap(m, sp, rb0: int, issue, write, cases, rb_hi: int):
    """``written``: the beat the reader is at has been written. A register holds the beats written
    minus the reader's place in the stream of all frames, less one, so the test is its sign bit
    (a flip-flop) rather than a comparison of ``rb`` with ``wb`` in front of ``issue``. It moves by one
    per write and by the issue's step (``cases``: the counters' last flags and the step each case
    makes): both sums of an issue are formed from flip-flops, and the handshakes select last."""
    (a_last, b_last, d_last, ox_last, oy_last), steps = cases
    frame = sp.in_beats
    gap = Signal(c.range_shape(-frame - rb_hi - 2, 2 * frame - rb0 + 2), init=-rb0 - 1, name="gap")
    conds = (~a_last, ~b_last, ~d_last, ~ox_last, ~oy_last)  # the cases of advance, in its order
    span = max(map(abs, steps)) + 1
    issued = []
    for j in (0, 1):  # j - the step of an issue now, then the sum
        minus = j - steps[-1]
        for cond, step in reversed(list(zip(conds, steps, strict=False))):
            minus = Mux(cond, j - step, minus)
        part = Signal(c.range_shape(-span, span), name=f"gap_minus{j}")
        m.d.comb += part.eq(minus)
        issued.append(c.lut_output(m, gap + part, f"gap_issued{j}"))
    m.d.sync += gap.eq(Mux(issue, Mux(write, issued[1], issued[0]), Mux(write, gap + 1, gap)))
    return ~gap[-1]


def row_start(sp, oy: int) -> int:
    """First beat of window row ``oy``'s top input row (0 above the image)."""
    return max(0, (oy * sp.stride - sp.borders[0]) * sp.width * sp.cf)


def col_start(sp, ox: int) -> int:
    """Beats of a row left of window column ``ox``'s first input column."""
    return max(0, ox * sp.stride - sp.borders[1]) * sp.cf
