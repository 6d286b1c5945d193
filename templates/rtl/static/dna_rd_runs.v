// dna_rd_runs: DMA read client. Turns runs (DRAM byte address of the run's first element,
// GB word address, zl, nv, rl) into AXI INCR read bursts (split at 4 KiB) and writes the
// run into a global buffer: zl zeros, nv elements from DRAM, rl - zl - nv zeros, up to
// LANES words per cycle (zeros share the cycle with the data beat they border, so a run
// that fits one beat costs one cycle). Elements are EB bytes in DRAM, W bits (the low
// bits) in the buffer. `visit_done` pulses when the last word of a run flagged `last`
// is written.
`default_nettype none
module dna_rd_runs #(
    parameter integer EB = 1,      // element bytes in DRAM
    parameter integer W = 8,       // element bits in the buffer (<= 8*EB)
    parameter integer BUSB = 64,   // AXI data bytes (>= 16)
    parameter integer A = 8,       // buffer address bits
    parameter integer BW = 16,
    parameter integer QA = 4       // log2 descriptor queue depth (outstanding bursts)
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 run_valid,
    output wire                 run_ready,
    input  wire [31:0]          run_addr,
    input  wire [A-1:0]         run_gb,
    input  wire [BW-1:0]        run_zl,
    input  wire [BW-1:0]        run_nv,
    input  wire [BW-1:0]        run_rl,
    input  wire                 run_last,
    output wire                 arvalid,
    input  wire                 arready,
    output wire [31:0]          araddr,
    output wire [7:0]           arlen,
    input  wire                 rvalid,
    output wire                 rready,
    input  wire [8*BUSB-1:0]    rdata,
    output wire [A-1:0]         gb_waddr,
    output wire [BUSB/EB-1:0]   gb_wmask,
    output wire [BUSB/EB*W-1:0] gb_wdata,
    output wire                 visit_done,
    output wire                 idle
);
    localparam integer LANES = BUSB / EB;
    localparam integer OB = $clog2(BUSB);
    localparam integer DW = 1 + 3*BW + OB + A;  // descriptor {last, zl, nv, zr, off, gb}

    // ---------------- splitter: run -> one descriptor (+ AR) per burst
    reg busy_s;              // splitting a run into several bursts
    reg [31:0] cur_addr;     // next data byte address
    reg [A-1:0] cur_gb;      // next buffer word (after the leading zeros already queued)
    reg [BW-1:0] cur_rem;    // data elements left in this run
    reg [BW-1:0] zr_r;
    reg last_r;
    wire nv_nz = run_nv != {BW{1'b0}};
    wire [31:0] a0 = busy_s ? cur_addr : run_addr + {{(32-BW){1'b0}}, run_zl} * EB;
    wire [A-1:0] g0 = busy_s ? cur_gb : run_gb;
    wire [BW-1:0] rem = busy_s ? cur_rem : run_nv;
    wire [BW-1:0] zl = busy_s ? {BW{1'b0}} : run_zl;
    wire [BW-1:0] zr = busy_s ? zr_r : run_rl - run_zl - run_nv;
    wire lst = busy_s ? last_r : run_last;
    wire [31:0] to4k = 32'd4096 - {20'd0, a0[11:0]};
    wire [31:0] max_el = to4k / EB;
    wire [31:0] rem32 = {{(32-BW){1'b0}}, rem};
    wire [31:0] k32 = (rem32 < max_el) ? rem32 : max_el;
    wire [BW-1:0] k = k32[BW-1:0];
    wire [31:0] span = {{(32-OB){1'b0}}, a0[OB-1:0]} + k32 * EB - 32'd1;
    wire k_all = k == rem;
    wire q_full, q_empty;
    wire [DW-1:0] q_dout;
    wire data_run = busy_s || (run_valid && nv_nz);
    wire zero_run = !busy_s && run_valid && !nv_nz;
    wire ar_hs = data_run && !q_full && arready;
    wire q_push = ar_hs || (zero_run && !q_full);
    wire [DW-1:0] q_din = zero_run
        ? {run_last, run_rl, {BW{1'b0}}, {BW{1'b0}}, {OB{1'b0}}, run_gb}
        : {lst && k_all, zl, k, k_all ? zr : {BW{1'b0}}, a0[OB-1:0], g0};
    assign run_ready = !busy_s && run_valid && !q_full && (!nv_nz || arready);
    assign arvalid = data_run && !q_full;
    assign araddr = {a0[31:OB], {OB{1'b0}}};
    assign arlen = span[OB+7:OB];
    always @(posedge clk) begin
        if (!rst_n) begin
            busy_s <= 1'b0;
        end else if (ar_hs) begin
            busy_s <= !k_all;
            cur_addr <= a0 + k32 * EB;
            cur_gb <= g0 + zl[A-1:0] + k[A-1:0];
            cur_rem <= rem - k;
            zr_r <= zr;
            last_r <= lst;
        end
    end

    // ---------------- unpacker: descriptors -> buffer writes
    reg u_act;
    reg [A-1:0] u_gb;
    reg [BW-1:0] u_zl, u_nv, u_zr;
    reg [OB-1:0] u_off;
    wire h_last = q_dout[DW-1];
    wire [BW-1:0] c_zl = u_act ? u_zl : q_dout[A+OB+2*BW +: BW];
    wire [BW-1:0] c_nv = u_act ? u_nv : q_dout[A+OB+BW +: BW];
    wire [BW-1:0] c_zr = u_act ? u_zr : q_dout[A+OB +: BW];
    wire [OB-1:0] c_off = u_act ? u_off : q_dout[A +: OB];
    wire [A-1:0] c_gb = u_act ? u_gb : q_dout[0 +: A];
    wire [31:0] zl32 = {{(32-BW){1'b0}}, c_zl};
    wire [31:0] nv32 = {{(32-BW){1'b0}}, c_nv};
    wire [31:0] zr32 = {{(32-BW){1'b0}}, c_zr};
    wire [31:0] zl_now = (zl32 < LANES) ? zl32 : LANES;
    wire [31:0] room = LANES - zl_now;
    wire [31:0] in_beat = (BUSB - {{(32-OB){1'b0}}, c_off}) / EB;  // elements left in beat
    wire [31:0] want = (nv32 < in_beat) ? nv32 : in_beat;
    wire need_beat = zl_now == zl32 && nv32 != 32'd0 && room != 32'd0;
    wire have = !need_beat || rvalid;
    wire [31:0] d_now = need_beat ? ((want < room) ? want : room) : 32'd0;
    wire beat_used = need_beat && d_now == want;  // the beat's last element for this run
    wire data_done = d_now == nv32;
    wire [31:0] room2 = room - d_now;
    wire [31:0] zr_now = (zl_now == zl32 && data_done) ? ((zr32 < room2) ? zr32 : room2) : 0;
    wire u_go = !q_empty && have;
    wire u_fin = u_go && zl_now == zl32 && data_done && zr_now == zr32;
    assign rready = u_go && beat_used;
    // lane i: zero below zl_now, then data element i - zl_now of the beat, then zeros
    wire [8*BUSB-1:0] shifted = rdata >> {c_off, 3'b000};
    wire [LANES*W-1:0] elems;
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : g_elem
            assign elems[i*W +: W] = shifted[i*8*EB +: W];
        end
    endgenerate
    wire [LANES*W-1:0] placed = elems << (zl_now * W);
    wire [31:0] used = zl_now + d_now + zr_now;
    wire [31:0] off_next = {{(32-OB){1'b0}}, c_off} + d_now * EB;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : g_lane
            wire is_data = (i >= zl_now) && (i < zl_now + d_now);
            assign gb_wmask[i] = u_go && (i < used);
            assign gb_wdata[i*W +: W] = is_data ? placed[i*W +: W] : {W{1'b0}};
        end
    endgenerate
    assign gb_waddr = c_gb;
    assign visit_done = u_fin && h_last;
    dna_fifo #(.W(DW), .AW(QA)) u_q (
        .clk(clk), .rst_n(rst_n), .push(q_push), .din(q_din), .pop(u_fin), .dout(q_dout),
        .empty(q_empty), .full(q_full));
    always @(posedge clk) begin
        if (!rst_n) u_act <= 1'b0;
        else if (u_go) begin
            u_act <= !u_fin;
            u_gb <= c_gb + used[A-1:0];
            u_zl <= c_zl - zl_now[BW-1:0];
            u_nv <= c_nv - d_now[BW-1:0];
            u_zr <= c_zr - zr_now[BW-1:0];
            u_off <= beat_used ? {OB{1'b0}} : off_next[OB-1:0];
        end
    end
    assign idle = !busy_s && q_empty;
    // High bits of the 32-bit helper arithmetic are zero by construction.
    wire unused_hi = &{1'b0, span[31:OB+8], span[OB-1:0], k32[31:BW], zl_now[31:BW],
                       d_now[31:BW], zr_now[31:BW], used[31:A],
                       off_next[31:OB]};
    // Bytes of a beat above an element's W bits (EB*8 > W: partial sums) are not stored.
    wire unused_sh = &{1'b0, shifted};
endmodule
`default_nettype wire
