// dna_hls_compat.h: the small subset of the Vivado/Vitis HLS types that DNA's generated
// code uses (ap_int<W>, ap_uint<W> for W <= 64, hls::stream<T>), so that the project
// compiles with plain g++ for C-simulation. Under Vivado/Vitis HLS the vendor headers
// <ap_int.h> and <hls_stream.h> are used instead (see dna_hls.h).
//
// Semantics kept from the vendor types: assigning a value wraps it to W bits (two's
// complement for ap_int), arithmetic on the values is exact in 64 bits, and streams are
// unbounded FIFOs in C-simulation. Reading an empty stream stops the simulation: in
// hardware that read would block forever.
// Part of DNA (dna-hwgen); copied into every generated HLS project unchanged.
#ifndef DNA_HLS_COMPAT_H
#define DNA_HLS_COMPAT_H

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

namespace dna_compat {
// Low W bits of v, sign-extended (SIGNED) or zero-extended.
template <int W, bool SIGNED>
inline long long wrap_bits(long long v) {
  const unsigned long long mask = W >= 64 ? ~0ULL : (1ULL << (W % 64)) - 1ULL;
  unsigned long long u = static_cast<unsigned long long>(v) & mask;
  if (SIGNED && W < 64 && ((u >> ((W - 1) % 64)) & 1ULL)) u |= ~mask;
  return static_cast<long long>(u);
}
}  // namespace dna_compat

template <int W> class ap_uint;

// Signed W-bit integer.
template <int W>
class ap_int {
  static_assert(W >= 1 && W <= 64, "dna_hls_compat.h supports ap_int<1..64>");

 public:
  ap_int() : v_(0) {}
  ap_int(long long v) : v_(dna_compat::wrap_bits<W, true>(v)) {}
  template <int W2>
  ap_int(const ap_int<W2>& o) : v_(dna_compat::wrap_bits<W, true>(static_cast<long long>(o))) {}
  template <int W2>
  ap_int(const ap_uint<W2>& o) : v_(dna_compat::wrap_bits<W, true>(static_cast<long long>(o))) {}
  operator long long() const { return v_; }
  ap_int& operator+=(long long v) { v_ = dna_compat::wrap_bits<W, true>(v_ + v); return *this; }
  ap_int& operator-=(long long v) { v_ = dna_compat::wrap_bits<W, true>(v_ - v); return *this; }
  ap_int& operator*=(long long v) { v_ = dna_compat::wrap_bits<W, true>(v_ * v); return *this; }
  ap_int& operator++() { return *this += 1; }

 private:
  long long v_;
};

// Unsigned W-bit integer.
template <int W>
class ap_uint {
  static_assert(W >= 1 && W <= 63, "dna_hls_compat.h supports ap_uint<1..63>");

 public:
  ap_uint() : v_(0) {}
  ap_uint(long long v) : v_(dna_compat::wrap_bits<W, false>(v)) {}
  template <int W2>
  ap_uint(const ap_uint<W2>& o) : v_(dna_compat::wrap_bits<W, false>(static_cast<long long>(o))) {}
  template <int W2>
  ap_uint(const ap_int<W2>& o) : v_(dna_compat::wrap_bits<W, false>(static_cast<long long>(o))) {}
  operator long long() const { return v_; }
  ap_uint& operator+=(long long v) { v_ = dna_compat::wrap_bits<W, false>(v_ + v); return *this; }

 private:
  long long v_;
};

namespace hls {

// FIFO between two processes. C-simulation runs DATAFLOW processes one after another, so
// the FIFO is unbounded here; its hardware depth is set by `#pragma HLS STREAM`.
template <class T>
class stream {
 public:
  stream() : name_("stream") {}
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  T read() {
    if (q_.empty()) {
      std::fprintf(stderr, "hls::stream '%s': read while empty (a deadlock in hardware)\n",
                   name_.c_str());
      std::exit(3);
    }
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  void read(T& v) { v = read(); }
  void write(const T& v) { q_.push_back(v); }
  void operator>>(T& v) { v = read(); }
  void operator<<(const T& v) { write(v); }
  bool empty() const { return q_.empty(); }
  bool full() const { return false; }
  unsigned long size() const { return q_.size(); }

 private:
  std::string name_;
  std::deque<T> q_;
};

}  // namespace hls

#endif  // DNA_HLS_COMPAT_H
