// Fast testbench of a generated DNA accelerator (top module dna_top), compiled with the
// Verilated model: the DRAM and the host are C++, so a run costs the model's evaluation
// and little else (sim/fast.py builds, writes the job and checks the outputs).
//
// DRAM, as sim/dram.py without back-pressure: a read burst's first beat is offered
// `r_latency` cycles after its AR handshake and a write's B response `b_latency` cycles
// after its last W beat, any number outstanding, served in order; R and W beats share one
// token bucket that fills at `bpc` beats per cycle (at most 2 banked). The host writes
// FRAMES and starts (AXI4-Lite); when the last engine finishes frame n (dna_top's
// frames_done), the harness dumps the `check` ranges of copy n mod `copies` to
// out/frame<n>.bin and writes the input of frame n + copies; at the end it reads the
// cycle counter and every op's stamps and writes out/result.txt.
//
// usage: dna_tb JOB   (JOB: lines "key values...", written by sim/fast.py)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "Vdna_top.h"
#include "Vdna_top___024root.h"
#include "verilated.h"

namespace {

struct Input {
    uint64_t frame, addr;
    std::string path;
};

struct Job {
    uint64_t dram_bytes = 0, r_latency = 0, b_latency = 0, max_cycles = 0;
    uint64_t frames = 1, copies = 1, span = 0;
    uint64_t ops = 0, bus_bytes = 0;
    uint32_t reg_ctrl = 0, reg_frames = 0, reg_cyc_lo = 0, reg_cyc_hi = 0, reg_ops_done = 0,
             reg_op_base = 0;  // AXI4-Lite addresses (sim/regs.py)
    bool have_regs = false;
    double bpc = 1.0;
    std::string image, out;
    std::vector<Input> inputs;
    std::vector<std::pair<uint64_t, uint64_t>> checks;  // (address, bytes)
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "dna_tb: %s\n", msg.c_str());
    std::exit(2);
}

Job read_job(const char* path) {
    std::ifstream f(path);
    if (!f) die(std::string("cannot read job ") + path);
    Job j;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream s(line);
        std::string key;
        if (!(s >> key)) continue;
        if (key == "dram_bytes") s >> j.dram_bytes;
        else if (key == "r_latency") s >> j.r_latency;
        else if (key == "b_latency") s >> j.b_latency;
        else if (key == "bpc") s >> j.bpc;
        else if (key == "max_cycles") s >> j.max_cycles;
        else if (key == "frames") s >> j.frames;
        else if (key == "copies") s >> j.copies;
        else if (key == "span") s >> j.span;
        else if (key == "ops") s >> j.ops;
        else if (key == "bus_bytes") s >> j.bus_bytes;
        else if (key == "image") s >> j.image;
        else if (key == "out") s >> j.out;
        else if (key == "regs") {
            s >> j.reg_ctrl >> j.reg_frames >> j.reg_cyc_lo >> j.reg_cyc_hi >> j.reg_ops_done
                >> j.reg_op_base;
            j.have_regs = true;
        }
        else if (key == "input") {
            Input in;
            s >> in.frame >> in.addr >> in.path;
            j.inputs.push_back(in);
        } else if (key == "check") {
            uint64_t a, n;
            s >> a >> n;
            j.checks.emplace_back(a, n);
        } else die("unknown job key " + key);
        if (s.fail()) die("bad job line: " + line);
    }
    return j;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) die("cannot read " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Bus-wide signals: Verilator holds up to 64 bits in an integer, wider ones in VlWide.
template <typename T>
void put_bytes(T& sig, const uint8_t* p, size_t n) {
    if constexpr (std::is_integral_v<T>) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
        sig = static_cast<T>(v);
    } else {
        for (size_t w = 0; w < (n + 3) / 4; ++w) {
            uint32_t v = 0;
            for (size_t b = 0; b < 4 && 4 * w + b < n; ++b) v |= uint32_t(p[4 * w + b]) << (8 * b);
            sig[w] = v;
        }
    }
}

template <typename T>
uint8_t byte_of(const T& sig, size_t i) {
    if constexpr (std::is_integral_v<T>) return uint8_t(uint64_t(sig) >> (8 * i));
    else return uint8_t(sig[i / 4] >> (8 * (i % 4)));
}

struct Read {
    uint64_t ready_cycle, id, addr, beats;
};
struct Write {
    uint64_t addr, beats, id;
};
struct Resp {
    uint64_t ready_cycle, id;
};

class Bench {
public:
    explicit Bench(const Job& j)
        : job(j), mem(j.dram_bytes, 0), top(std::make_unique<Vdna_top>(&ctx)),
          lanes(j.bus_bytes) {}

    const Job& job;
    VerilatedContext ctx;
    std::vector<uint8_t> mem;
    std::unique_ptr<Vdna_top> top;
    size_t lanes;
    uint64_t cycle = 0;
    double tokens = 2.0;
    std::deque<Read> reads;
    uint64_t r_beat = 0;
    bool r_held = false;
    std::deque<Write> aws;
    uint64_t w_beat = 0;
    std::deque<std::vector<uint8_t>> w_early;  // W beats ahead of their AW (data, strobes)
    std::deque<Resp> resps;

    void bounds(uint64_t addr, uint64_t n) const {
        if (addr + n > mem.size()) {
            char msg[128];
            std::snprintf(msg, sizeof msg, "access 0x%llx+%llu beyond DRAM (%zu bytes)",
                          (unsigned long long)addr, (unsigned long long)n, mem.size());
            die(msg);
        }
    }

    void write_beat(const std::vector<uint8_t>& beat) {
        Write& w = aws.front();
        uint64_t base = w.addr - w.addr % lanes + w_beat * lanes;
        bounds(base, lanes);
        for (size_t i = 0; i < lanes; ++i)
            if (beat[lanes + i]) mem[base + i] = beat[i];
        if (++w_beat == w.beats) {
            resps.push_back({cycle + job.b_latency, w.id});
            aws.pop_front();
            w_beat = 0;
        }
    }

    // One clock cycle: drive the DRAM's outputs, settle, sample handshakes, clock edge.
    void step() {
        Vdna_top& t = *top;
        tokens = std::min(2.0, tokens + job.bpc);
        if (!r_held && !reads.empty() && reads.front().ready_cycle <= cycle && tokens >= 1.0) {
            const Read& r = reads.front();
            uint64_t base = r.addr - r.addr % lanes + r_beat * lanes;
            bounds(base, lanes);
            put_bytes(t.m_axi_rdata, &mem[base], lanes);
            t.m_axi_rid = r.id;
            t.m_axi_rlast = r_beat + 1 == r.beats;
            t.m_axi_rresp = 0;
            tokens -= 1.0;
            r_held = true;
        }
        t.m_axi_rvalid = r_held;
        t.m_axi_arready = 1;
        t.m_axi_awready = 1;
        t.m_axi_wready = tokens >= 1.0;
        bool b_ready = !resps.empty() && resps.front().ready_cycle <= cycle;
        t.m_axi_bvalid = b_ready;
        t.m_axi_bid = b_ready ? resps.front().id : 0;
        t.m_axi_bresp = 0;
        t.clk = 0;
        t.eval();
        // handshakes of this edge, sampled before it
        const bool live = t.rst_n;  // outputs mean nothing in reset
        bool ar = live && t.m_axi_arvalid, r = r_held && t.m_axi_rready;
        bool aw = live && t.m_axi_awvalid, w = live && t.m_axi_wvalid && t.m_axi_wready;
        bool b = b_ready && t.m_axi_bready;
        Read ar_req{cycle + job.r_latency, t.m_axi_arid, t.m_axi_araddr,
                    uint64_t(t.m_axi_arlen) + 1};
        Write aw_req{t.m_axi_awaddr, uint64_t(t.m_axi_awlen) + 1, t.m_axi_awid};
        std::vector<uint8_t> beat;
        if (w) {
            beat.resize(2 * lanes);
            for (size_t i = 0; i < lanes; ++i) {
                beat[i] = byte_of(t.m_axi_wdata, i);
                beat[lanes + i] = (uint64_t(t.m_axi_wstrb) >> i) & 1;
            }
        }
        host_sample();
        t.clk = 1;
        t.eval();
        if (ar) reads.push_back(ar_req);
        if (r && ++r_beat == reads.front().beats) {
            reads.pop_front();
            r_beat = 0;
        }
        if (r) r_held = false;
        if (aw) aws.push_back(aw_req);
        if (w) {
            tokens -= 1.0;
            w_early.push_back(std::move(beat));
        }
        while (!w_early.empty() && !aws.empty()) {
            write_beat(w_early.front());
            w_early.pop_front();
        }
        if (b) resps.pop_front();
        ++cycle;
    }

    // ---- AXI4-Lite host: one transaction at a time, run to completion
    int host_state = 0;  // 0 idle, 1 write addr+data, 2 write resp, 3 read addr, 4 read data
    uint32_t host_data = 0;

    void host_sample() {
        Vdna_top& t = *top;
        switch (host_state) {
            case 1:
                if (t.s_axil_awready && t.s_axil_wready) host_state = 2;
                break;
            case 2:
                if (t.s_axil_bvalid) host_state = 0;
                break;
            case 3:
                if (t.s_axil_arready) host_state = 4;
                break;
            case 4:
                if (t.s_axil_rvalid) {
                    host_data = t.s_axil_rdata;
                    host_state = 0;
                }
                break;
        }
    }

    void host_drive() {
        Vdna_top& t = *top;
        t.s_axil_awvalid = t.s_axil_wvalid = host_state == 1;
        t.s_axil_bready = host_state == 2;
        t.s_axil_arvalid = host_state == 3;
        t.s_axil_rready = host_state == 4;
    }

    void host_run() {
        while (host_state != 0) {
            host_drive();
            step();
        }
        host_drive();
    }

    void host_write(uint32_t addr, uint32_t data) {
        top->s_axil_awaddr = addr;
        top->s_axil_wdata = data;
        top->s_axil_wstrb = 0xF;
        top->s_axil_awprot = top->s_axil_arprot = 0;
        host_state = 1;
        host_run();
    }

    uint32_t host_read(uint32_t addr) {
        top->s_axil_araddr = addr;
        host_state = 3;
        host_run();
        return host_data;
    }
};

void load_image(std::vector<uint8_t>& mem, const std::string& path) {
    std::vector<uint8_t> blob = read_file(path);
    size_t p = 0;
    while (p + 16 <= blob.size()) {
        uint64_t addr = 0, n = 0;
        for (int i = 0; i < 8; ++i) addr |= uint64_t(blob[p + i]) << (8 * i);
        for (int i = 0; i < 8; ++i) n |= uint64_t(blob[p + 8 + i]) << (8 * i);
        p += 16;
        if (p + n > blob.size() || addr + n > mem.size()) die("bad image record in " + path);
        std::copy(blob.begin() + p, blob.begin() + p + n, mem.begin() + addr);
        p += n;
    }
}

void dump(const Bench& tb, const Job& job, uint64_t frame, uint64_t off) {
    std::ofstream f(job.out + "/frame" + std::to_string(frame) + ".bin", std::ios::binary);
    for (const auto& [addr, n] : job.checks) {
        tb.bounds(addr + off, n);
        f.write(reinterpret_cast<const char*>(&tb.mem[addr + off]), std::streamsize(n));
    }
    if (!f) die("cannot write the frame dump in " + job.out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) die("usage: dna_tb JOB");
    const Job job = read_job(argv[1]);
    if (job.bus_bytes == 0 || job.copies == 0 || !job.have_regs)
        die("job without bus_bytes, copies or regs");
    Bench tb(job);
    load_image(tb.mem, job.image);
    Vdna_top& t = *tb.top;
    t.rst_n = 0;
    tb.host_drive();
    for (int i = 0; i < 4; ++i) tb.step();
    t.rst_n = 1;
    for (int i = 0; i < 2; ++i) tb.step();
    tb.host_write(job.reg_frames, uint32_t(job.frames));
    auto t0 = std::chrono::steady_clock::now();
    tb.host_write(job.reg_ctrl, 1);
    const uint64_t start = tb.cycle;
    std::vector<uint64_t> done_at;
    auto& root = *t.rootp;
    while (done_at.size() < job.frames && tb.cycle - start < job.max_cycles) {
        tb.step();
        if ((tb.cycle - start) % (1u << 20) == 0)
            std::fprintf(stderr, "dna_tb: cycle %llu, %zu of %llu frames done\n",
                         (unsigned long long)(tb.cycle - start), done_at.size(),
                         (unsigned long long)job.frames);
        while (done_at.size() < root.dna_top__DOT__frames_done) {
            uint64_t n = done_at.size();
            done_at.push_back(root.dna_top__DOT__u_axil__DOT__cycles);
            uint64_t off = (n % job.copies) * job.span;
            dump(tb, job, n, off);
            for (const Input& in : job.inputs)
                if (in.frame == n + job.copies) {
                    std::vector<uint8_t> x = read_file(in.path);
                    tb.bounds(in.addr + off, x.size());
                    std::copy(x.begin(), x.end(), tb.mem.begin() + in.addr + off);
                }
        }
    }
    const uint64_t sim_cycles = tb.cycle - start;
    double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ofstream r(job.out + "/result.txt");
    r << "sim_cycles " << sim_cycles << "\nwall_s " << wall_s << "\n";
    for (size_t n = 0; n < done_at.size(); ++n) r << "frame " << n << " " << done_at[n] << "\n";
    if (done_at.size() < job.frames) {
        r << "status TIMEOUT\n";
        return 0;
    }
    uint64_t lo = tb.host_read(job.reg_cyc_lo), hi = tb.host_read(job.reg_cyc_hi);
    r << "cycles " << (hi << 32 | lo) << "\nops_done " << tb.host_read(job.reg_ops_done) << "\n";
    for (uint32_t i = 0; i < job.ops; ++i) {
        uint32_t begin = tb.host_read(job.reg_op_base + 8 * i);
        uint32_t end = tb.host_read(job.reg_op_base + 8 * i + 4);
        r << "op " << i << " " << begin << " " << end << "\n";
    }
    r << "status DONE\n";
    if (!r) die("cannot write " + job.out + "/result.txt");
    return 0;
}
