// Bulk AXI4-Stream harness for a Verilated accelerator (verification tier 4): no Python per cycle.
//
// Filled by hwgen.sim.harness with string.Template.substitute:
//   ${top}       Verilog top module (the model class is V${top})
//   ${in_bits}   width of s_axis_tdata in bits
//   ${out_bits}  width of m_axis_tdata in bits
//   monitor_decl, monitor_step, monitor_report: the FIFO monitors, filled in by
//                hwgen.sim.harness after verilating: the beats each stream FIFO holds, counted from the
//                handshakes on its ports every cycle (empty when the design has no FIFO)
//
// Usage: harness IN OUT STAMPS FRAMES BEATS_IN BEATS_OUT P_IN P_OUT SEED IDLE_TIMEOUT EXTRA_CYCLES [PROGRESS]
//   IN      input beats, ceil(in_bits/8) bytes each, little endian, BEATS_IN per frame, FRAMES frames
//   OUT     written: every output beat accepted, ceil(out_bits/8) bytes each (extra beats included)
//   STAMPS  written: per output frame, the cycle (uint64 LE, from the end of reset) its last beat was taken
//   P_IN    probability per cycle that the source withholds the next beat (a tvalid gap)
//   P_OUT   probability per cycle that the sink withholds tready
//   IDLE_TIMEOUT  cycles without any handshake before the run gives up (a lost beat)
//   EXTRA_CYCLES  cycles with tready high after the last expected beat, to catch extra beats
//   PROGRESS      optional file: the number of output frames taken, rewritten now and then
// Prints "key value" lines on stdout. Exit 0 when the run completed (whatever the design did), 2 on bad use.
//
// Checks on the design: tlast on every output beat (high on the last beat of each frame only), output
// stability (m_axis tvalid, tdata, tlast hold while tready is low), lost beats (timeout), extra beats.
// Measures the peak occupancy of every FIFO ("fifo_peak.<instance> N" lines).

#include "V${top}.h"
#include "verilated.h"
${monitor_decl}

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

static_assert(std::endian::native == std::endian::little, "the beat files are little endian");

namespace {

constexpr size_t kInBits = ${in_bits};
constexpr size_t kOutBits = ${out_bits};
constexpr size_t kInBytes = (kInBits + 7) / 8;
constexpr size_t kOutBytes = (kOutBits + 7) / 8;

template <typename T>
constexpr size_t signal_bytes() {
    if constexpr (VlIsVlWide<T>::value) {
        return T::Words * sizeof(EData);
    } else {
        return sizeof(T);
    }
}

// Little-endian bytes -> a port (CData/SData/IData/QData or VlWide); bytes beyond n are zero.
template <typename T>
inline void put_bytes(T& sig, const uint8_t* p, size_t n) {
    if constexpr (VlIsVlWide<T>::value) {
        std::memset(sig.data(), 0, T::Words * sizeof(EData));
        std::memcpy(sig.data(), p, n);
    } else {
        uint64_t v = 0;
        std::memcpy(&v, p, n);
        sig = static_cast<T>(v);
    }
}

// A port -> n little-endian bytes.
template <typename T>
inline void get_bytes(const T& sig, uint8_t* p, size_t n) {
    if constexpr (VlIsVlWide<T>::value) {
        std::memcpy(p, sig.data(), n);
    } else {
        uint64_t v = static_cast<uint64_t>(sig);
        std::memcpy(p, &v, n);
    }
}

// xorshift64*: seeded, fast, the same sequence on every machine.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
        if (s == 0) s = 1;
    }
    inline uint32_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return static_cast<uint32_t>((s * 0x2545F4914F6CDD1Dull) >> 32);
    }
};

// True with probability p (given as a 32-bit threshold); never draws when p is 0.
inline bool chance(Rng& rng, uint64_t threshold) { return threshold != 0 && rng.next() < threshold; }

uint64_t threshold_of(const char* arg) {
    double p = std::strtod(arg, nullptr);
    if (!(p >= 0.0 && p < 1.0)) {
        std::fprintf(stderr, "harness: probability %s not in [0, 1)\n", arg);
        std::exit(2);
    }
    return static_cast<uint64_t>(p * 4294967296.0);
}

uint64_t count_of(const char* arg) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(arg, &end, 10);
    if (end == arg || *end != '\0') {
        std::fprintf(stderr, "harness: not a count: %s\n", arg);
        std::exit(2);
    }
    return v;
}

void write_progress(const char* path, uint64_t frames) {
    if (!path) return;
    std::string tmp = std::string(path) + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%llu\n", static_cast<unsigned long long>(frames));
        std::fclose(f);
        std::rename(tmp.c_str(), path);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 12 && argc != 13) {
        std::fprintf(stderr,
                     "usage: %s IN OUT STAMPS FRAMES BEATS_IN BEATS_OUT P_IN P_OUT SEED IDLE_TIMEOUT "
                     "EXTRA_CYCLES [PROGRESS]\n",
                     argv[0]);
        return 2;
    }
    const uint64_t frames = count_of(argv[4]);
    const uint64_t bpf_in = count_of(argv[5]);
    const uint64_t bpf_out = count_of(argv[6]);
    const uint64_t p_in = threshold_of(argv[7]);
    const uint64_t p_out = threshold_of(argv[8]);
    const uint64_t seed = count_of(argv[9]);
    const uint64_t idle_timeout = count_of(argv[10]);
    const uint64_t extra_cycles = count_of(argv[11]);
    const char* progress = argc == 13 ? argv[12] : nullptr;
    if (bpf_in == 0 || bpf_out == 0) {
        std::fprintf(stderr, "harness: beats per frame must be positive\n");
        return 2;
    }

    const uint64_t n_in = frames * bpf_in;
    const uint64_t n_out_expected = frames * bpf_out;
    std::vector<uint8_t> in(n_in * kInBytes);
    {
        FILE* f = std::fopen(argv[1], "rb");
        if (!f) {
            std::fprintf(stderr, "harness: cannot open %s\n", argv[1]);
            return 2;
        }
        size_t got = std::fread(in.data(), 1, in.size(), f);
        bool more = std::fgetc(f) != EOF;
        std::fclose(f);
        if (got != in.size() || more) {
            std::fprintf(stderr, "harness: %s does not hold %llu beats of %zu bytes\n", argv[1],
                         static_cast<unsigned long long>(n_in), kInBytes);
            return 2;
        }
    }
    FILE* out = std::fopen(argv[2], "wb");
    FILE* stamps = std::fopen(argv[3], "wb");
    if (!out || !stamps) {
        std::fprintf(stderr, "harness: cannot write %s or %s\n", argv[2], argv[3]);
        return 2;
    }
    static char out_buf[1 << 16], stamp_buf[1 << 16];
    std::setvbuf(out, out_buf, _IOFBF, sizeof out_buf);
    std::setvbuf(stamps, stamp_buf, _IOFBF, sizeof stamp_buf);

    auto context = std::make_unique<VerilatedContext>();
    context->commandArgs(1, argv);
    auto top = std::make_unique<V${top}>(context.get(), "TOP");
    static_assert(signal_bytes<decltype(top->s_axis_tdata)>() * 8 >= kInBits, "s_axis_tdata narrower than in_bits");
    static_assert(signal_bytes<decltype(top->m_axis_tdata)>() * 8 >= kOutBits, "m_axis_tdata narrower than out_bits");

    // Reset: 4 cycles with rst high, both ends idle.
    top->rst = 1;
    top->s_axis_tvalid = 0;
    top->s_axis_tlast = 0;
    top->m_axis_tready = 0;
    for (int k = 0; k < 4; ++k) {
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
        context->timeInc(1);
    }
    top->rst = 0;

    Rng rng_in(2 * seed), rng_out(2 * seed + 1);
    uint64_t cycle = 0, idle = 0, next_in = 0, n_out = 0, frames_out = 0;
    uint64_t first_in = UINT64_MAX, first_out = UINT64_MAX, done_cycle = UINT64_MAX;
    uint64_t tlast_errors = 0, first_tlast_error = UINT64_MAX;
    uint64_t unstable = 0, first_unstable = UINT64_MAX;
    bool holding = false, timeout = false, prev_stalled = false, prev_last = false;
    uint8_t beat[kOutBytes], prev_beat[kOutBytes];
    const auto t0 = std::chrono::steady_clock::now();

    for (;;) {
        const bool all_sent = next_in == n_in;
        if (done_cycle == UINT64_MAX && all_sent && n_out >= n_out_expected) done_cycle = cycle;
        const bool draining = done_cycle != UINT64_MAX;
        if (draining && cycle - done_cycle >= extra_cycles) break;

        // Source: a new beat only after the last one was taken (tvalid and tdata hold until tready).
        if (!holding && !all_sent && !chance(rng_in, p_in)) {
            put_bytes(top->s_axis_tdata, &in[next_in * kInBytes], kInBytes);
            top->s_axis_tlast = (next_in + 1) % bpf_in == 0;
            holding = true;
        }
        top->s_axis_tvalid = holding;
        top->m_axis_tready = draining ? 1 : !chance(rng_out, p_out);
        top->clk = 0;
        top->eval();

        ${monitor_step}
        const bool s_fire = holding && top->s_axis_tready;
        const bool m_valid = top->m_axis_tvalid;
        const bool m_fire = m_valid && top->m_axis_tready;
        if (m_valid || prev_stalled) get_bytes(top->m_axis_tdata, beat, kOutBytes);
        const bool m_last = top->m_axis_tlast;
        if (prev_stalled && (!m_valid || m_last != prev_last || std::memcmp(beat, prev_beat, kOutBytes))) {
            if (unstable++ == 0) first_unstable = n_out;
        }
        if (m_fire) {
            std::fwrite(beat, 1, kOutBytes, out);
            if (first_out == UINT64_MAX) first_out = cycle;
            const bool want_last = (n_out + 1) % bpf_out == 0;
            if (m_last != want_last && tlast_errors++ == 0) first_tlast_error = n_out;
            if (want_last) {
                std::fwrite(&cycle, sizeof cycle, 1, stamps);
                ++frames_out;
                if (progress && (frames_out & 255) == 0) write_progress(progress, frames_out);
            }
            ++n_out;
        }
        prev_stalled = m_valid && !m_fire;
        if (prev_stalled) {
            std::memcpy(prev_beat, beat, kOutBytes);
            prev_last = m_last;
        }

        top->clk = 1;
        top->eval();
        context->timeInc(1);
        if (s_fire) {
            if (first_in == UINT64_MAX) first_in = cycle;
            ++next_in;
            holding = false;
        }
        ++cycle;
        idle = (s_fire || m_fire) ? 0 : idle + 1;
        if (!draining && idle >= idle_timeout) {
            timeout = true;
            break;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    top->final();
    bool write_ok = std::fclose(out) == 0;
    write_ok &= std::fclose(stamps) == 0;
    write_progress(progress, frames_out);
    if (!write_ok) {
        std::fprintf(stderr, "harness: writing %s or %s failed\n", argv[2], argv[3]);
        return 2;
    }
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    auto opt = [](uint64_t v) { return v == UINT64_MAX ? -1LL : static_cast<long long>(v); };
    std::printf("cycles %llu\n", u(cycle));
    std::printf("seconds %.6f\n", seconds);
    std::printf("beats_in %llu\n", u(next_in));
    std::printf("beats_out %llu\n", u(n_out));
    std::printf("timeout %d\n", timeout ? 1 : 0);
    std::printf("first_in %lld\n", opt(first_in));
    std::printf("first_out %lld\n", opt(first_out));
    std::printf("tlast_errors %llu\n", u(tlast_errors));
    std::printf("first_tlast_error %lld\n", opt(first_tlast_error));
    std::printf("unstable %llu\n", u(unstable));
    std::printf("first_unstable %lld\n", opt(first_unstable));
    ${monitor_report}
    return 0;
}
