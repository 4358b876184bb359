// UART line model around the Verilated board shell ${top} (filled by hwgen.driver.verilator with
// string.Template.substitute). It turns bytes from the host into bits on the shell's rx line, and the
// shell's tx line back into bytes, at DIVISOR clock cycles per bit (8N1, least significant bit first).
//
//   usage: uart_model DIVISOR IDLE_CYCLES
//   stdin:  'D' u32le N, then N bytes: send them;  'B' u32le K: hold rx low for K bit times (a break),
//           then high for 16 bit times;  'Q': stop.
//   stdout: every byte the shell sends, written when its stop bit has been sampled.
// After IDLE_CYCLES clock cycles with nothing on either line the model blocks on stdin instead of spinning.
// At the end it prints "uart_model: cycles FIRST LAST" on stderr: the clock cycle the first data byte's start
// bit began and the one the last byte from the shell ended (the line's throughput in simulated cycles).
#include "V${top}.h"
#include "verilated.h"

#include <poll.h>
#include <unistd.h>
#include <fcntl.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

namespace {

struct Item {
    bool brk;
    uint32_t value;  // the byte, or the break's length in bit times
};

struct Host {
    std::vector<uint8_t> buf;
    bool eof = false;
    bool quit = false;

    // read what stdin holds (blocking when `wait`); false at end of input
    void fill(bool wait) {
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, wait ? -1 : 0) <= 0) return;
        uint8_t tmp[65536];
        ssize_t n = read(0, tmp, sizeof tmp);
        if (n <= 0) { eof = true; return; }
        buf.insert(buf.end(), tmp, tmp + n);
    }

    // move complete commands from buf to q
    void parse(std::deque<Item>& q) {
        size_t k = 0;
        while (k < buf.size()) {
            uint8_t c = buf[k];
            if (c == 'Q') { quit = true; k += 1; continue; }
            if (buf.size() - k < 5) break;
            uint32_t n;
            std::memcpy(&n, &buf[k + 1], 4);
            if (c == 'B') { q.push_back({true, n}); k += 5; continue; }
            if (c != 'D') { std::fprintf(stderr, "uart_model: bad command %d\n", c); std::exit(2); }
            if (buf.size() - k - 5 < n) break;
            for (uint32_t i = 0; i < n; i++) q.push_back({false, buf[k + 5 + i]});
            k += 5 + n;
        }
        buf.erase(buf.begin(), buf.begin() + k);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: uart_model DIVISOR IDLE_CYCLES\n"); return 2; }
    const uint64_t d = std::strtoull(argv[1], nullptr, 10);
    const uint64_t idle_limit = std::strtoull(argv[2], nullptr, 10);
    VerilatedContext ctx;
    V${top} top{&ctx};
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

    top.rx = 1;
    top.rst = 1;
    for (int i = 0; i < 8; i++) { top.clk = 0; top.eval(); top.clk = 1; top.eval(); }
    top.rst = 0;

    Host host;
    std::deque<Item> q;
    // rx driver: the bits of the current item, each held d cycles
    std::vector<uint8_t> bits;
    size_t bit = 0;
    uint64_t held = 0;
    // tx decoder
    bool rx_busy = false;
    uint64_t t = 0;
    uint32_t shreg = 0;
    uint64_t quiet = 0;
    uint64_t cycle = 0, first_data = 0, last_tx = 0;
    bool any_data = false;

    while (true) {
        if (bit == bits.size() && q.empty()) {
            if (host.quit || (host.eof && quiet > idle_limit)) break;
            if (!host.eof) host.fill(quiet > idle_limit);
            host.parse(q);
        }
        if (bit == bits.size() && !q.empty()) {
            Item it = q.front();
            q.pop_front();
            bits.clear();
            if (it.brk) {
                bits.assign(it.value, 0);
                bits.insert(bits.end(), 16, 1);
            } else {
                if (!any_data) { any_data = true; first_data = cycle; }
                bits.push_back(0);
                for (int i = 0; i < 8; i++) bits.push_back((it.value >> i) & 1);
                bits.push_back(1);
            }
            bit = 0;
            held = 0;
        }
        bool sending = bit < bits.size();
        top.rx = sending ? bits[bit] : 1;
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        cycle++;
        if (sending && ++held == d) { held = 0; bit++; }

        // decode tx: start bit on a falling edge, sample every bit in its middle
        if (!rx_busy) {
            if (!top.tx) { rx_busy = true; t = 0; shreg = 0; }
        } else {
            t++;
            if (t % d == d / 2) {
                uint64_t k = t / d;  // 0 = start bit, 1..8 data, 9 stop
                if (k == 0 && top.tx) rx_busy = false;  // a glitch
                else if (k >= 1 && k <= 8) shreg |= uint32_t(top.tx) << (k - 1);
                else if (k == 9) {
                    if (!top.tx) { std::fprintf(stderr, "uart_model: bad stop bit from the shell\n"); return 1; }
                    std::fputc(int(shreg), stdout);
                    std::fflush(stdout);
                    rx_busy = false;
                    last_tx = cycle;
                }
            }
        }
        quiet = (sending || rx_busy) ? 0 : quiet + 1;
    }
    top.final();
    std::fprintf(stderr, "uart_model: cycles %llu %llu\n", (unsigned long long)first_data,
                 (unsigned long long)last_tx);
    return 0;
}
