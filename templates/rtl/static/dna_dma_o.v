// dna_dma_o: output DMA (output global buffer <-> DRAM) and the per-channel params.
// At op start it loads the params (bias, M, shift per output channel) into the param RAM.
// Then it walks the output GB visits: visit v uses slot v % 2 and is prepared once visit
// v - 2 is written back: a first visit needs nothing (the output unit only writes it), a
// revisit reloads its partial sums from DRAM (after every earlier write is acknowledged).
// A visit the output unit released is written back: requantised on its last visit, raw
// partial sums otherwise. Order: prep 0, prep 1, evict 0, prep 2, evict 1, ...
`default_nettype none
module dna_dma_o #(
    parameter integer NP = 15,
    parameter integer NDW = 5,
    parameter integer BW = 16,
    parameter integer VW = 32,
    parameter integer CW = 32,
    parameter integer E = 1,
    parameter integer P = 4,
    parameter integer ACCW = 32,
    parameter integer BUSB = 64,
    parameter integer D = 64,
    parameter integer A = 7,
    parameter integer PD = 64,   // param RAM words (>= output channels of any op)
    parameter integer PA = 6,
    parameter integer QA = 4
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 start,
    input  wire [NP-1:0]        act,
    input  wire [NP-1:0]        first_m,
    input  wire [NP-1:0]        last_m,
    input  wire [NP*BW-1:0]     nest_max,
    input  wire [8*VW-1:0]      init,
    input  wire [NP*8*VW-1:0]   inc,
    input  wire [NDW*BW-1:0]    wmax,
    input  wire [NDW*8*VW-1:0]  winc,
    input  wire [BW-1:0]        runlen,
    input  wire [4*VW-1:0]      lim,
    input  wire [31:0]          par_base,
    input  wire [BW-1:0]        par_count,
    input  wire signed [31:0]   act_min,
    input  wire signed [31:0]   act_max,
    input  wire [31:0]          act_off,  // byte offset of this frame's output tensor copy
    input  wire [CW-1:0]        gb_rel,     // visits released by the output unit
    output reg  [CW-1:0]        gb_prep,    // visits prepared
    // psum reload reads (client 2) and param reads (client 3)
    output wire                 ps_arvalid,
    input  wire                 ps_arready,
    output wire [31:0]          ps_araddr,
    output wire [7:0]           ps_arlen,
    input  wire                 ps_rvalid,
    output wire                 ps_rready,
    output wire                 pa_arvalid,
    input  wire                 pa_arready,
    output wire [31:0]          pa_araddr,
    output wire [7:0]           pa_arlen,
    input  wire                 pa_rvalid,
    output wire                 pa_rready,
    input  wire [8*BUSB-1:0]    rdata,
    // writes
    output wire                 awvalid,
    input  wire                 awready,
    output wire [31:0]          awaddr,
    output wire [7:0]           awlen,
    output wire                 wvalid,
    input  wire                 wready,
    output wire [8*BUSB-1:0]    wdata,
    output wire [BUSB-1:0]      wstrb,
    output wire                 wlast,
    input  wire                 bvalid,
    // output GB, DMA side (reads one cycle ahead: dna_wr_runs)
    output wire                 gb_re,
    output wire [A-1:0]         gb_raddr,
    input  wire [BUSB/E*ACCW-1:0] gb_rdata,
    output wire [A-1:0]         gb_waddr,
    output wire [BUSB/P-1:0]    gb_wmask,
    output wire [BUSB/P*ACCW-1:0] gb_wdata,
    output wire                 busy
);
    localparam [3:0] S_IDLE = 4'd0, S_PAR = 4'd1, S_PARW = 4'd2, S_NEXT = 4'd3,
                     S_PREPW = 4'd4, S_EVICT = 4'd5, S_EVICTW = 4'd6, S_FLUSH = 4'd7;
    reg [3:0] st;
    reg [CW-1:0] ev;          // visits written back
    reg outer_done;
    reg [31:0] outstanding;   // write bursts not yet acknowledged
    reg [8*VW-1:0] meta_v [0:1];
    reg meta_f [0:1];
    reg evict_mode;

    // ---------------- outer visit odometer, first / final flags
    wire [8*VW-1:0] ov;
    wire [NP*BW-1:0] oidx;
    wire o_last;
    wire [NP-1:0] unused_pn;
    reg first, final_v;
    integer i;
    always @* begin
        first = 1'b1;
        final_v = 1'b1;
        for (i = 0; i < NP; i = i + 1) begin
            if (first_m[i] && oidx[i*BW +: BW] != {BW{1'b0}}) first = 1'b0;
            if (last_m[i] && oidx[i*BW +: BW] != nest_max[i*BW +: BW]) final_v = 1'b0;
        end
    end
    wire [VW-1:0] slot_base = gb_prep[0] ? D : 0;
    wire [8*VW-1:0] prep_base = {ov[8*VW-1:3*VW], slot_base, ov[0 +: 2*VW]};
    wire prep_now = st == S_NEXT && !outer_done && (gb_prep - ev < 2);
    wire prep_first = prep_now && first;
    wire prep_reload = prep_now && !first && outstanding == 32'd0;
    wire rd_vdone, wr_idle, rd_idle;
    wire prep_end = prep_first || (st == S_PREPW && rd_vdone);
    wire [8*VW-1:0] unused_nv_outer;
    dna_agu #(.NP(NP), .NO(8), .BW(BW), .VW(VW)) u_outer (
        .clk(clk), .rst_n(rst_n), .start(start), .step(prep_end && !o_last), .act(act),
        .maxv(nest_max), .inc(inc), .init(init), .val(ov), .nval(unused_nv_outer),
        .idx(oidx), .last(o_last),
        .pnext(unused_pn));
    wire unused_ov = &{1'b0, ov[2*VW +: VW]};

    // ---------------- run walker shared by reloads and evictions
    wire evict_go = st == S_EVICT && gb_rel > ev;
    wire [8*VW-1:0] wbase = evict_mode ? meta_v[ev[0]] : meta_v[gb_prep[0]];
    wire rv, rr, rlast, walk_busy;
    wire [8*VW-1:0] rval;
    wire [BW-1:0] zl, nv;
    dna_dma_walk #(.NDW(NDW), .NO(8), .BW(BW), .VW(VW)) u_walk (
        .clk(clk), .rst_n(rst_n), .start(prep_reload || evict_go), .base(wbase),
        .wmax(wmax), .winc(winc), .rl(runlen), .lim(lim), .run_valid(rv), .run_ready(rr),
        .run_val(rval), .run_zl(zl), .run_nv(nv), .run_last(rlast), .busy(walk_busy));
    wire [VW-1:0] r_gb = rval[2*VW +: VW];
    wire [VW-1:0] r_pidx = rval[3*VW +: VW];
    wire unused_rval = &{1'b0, rval[8*VW-1:4*VW], r_gb[VW-1:A], r_pidx[VW-1:PA]};
    wire rd_rr, wr_rr;
    assign rr = evict_mode ? wr_rr : rd_rr;

    dna_rd_runs #(.EB(P), .W(ACCW), .BUSB(BUSB), .A(A), .BW(BW), .QA(QA)) u_rd (
        .clk(clk), .rst_n(rst_n), .run_valid(rv && !evict_mode), .run_ready(rd_rr),
        .run_addr(rval[VW +: 32]), .run_gb(r_gb[A-1:0]), .run_zl(zl), .run_nv(nv),
        .run_rl(runlen), .run_last(rlast), .arvalid(ps_arvalid), .arready(ps_arready),
        .araddr(ps_araddr), .arlen(ps_arlen), .rvalid(ps_rvalid), .rready(ps_rready),
        .rdata(rdata), .gb_waddr(gb_waddr), .gb_wmask(gb_wmask), .gb_wdata(gb_wdata),
        .visit_done(rd_vdone), .idle(rd_idle));

    // ---------------- params
    wire [PA-1:0] par_raddr;
    reg [127:0] par_ram [0:PD-1];
    wire [127:0] par_rdata = par_ram[par_raddr];
    wire [PA-1:0] pw_addr;
    wire [BUSB/16-1:0] pw_mask;
    wire [BUSB/16*128-1:0] pw_data;
    wire pa_done, pa_idle, pa_rr;
    dna_rd_runs #(.EB(16), .W(128), .BUSB(BUSB), .A(PA), .BW(BW), .QA(2)) u_par (
        .clk(clk), .rst_n(rst_n), .run_valid(st == S_PAR), .run_ready(pa_rr),
        .run_addr(par_base), .run_gb({PA{1'b0}}), .run_zl({BW{1'b0}}), .run_nv(par_count),
        .run_rl(par_count), .run_last(1'b1), .arvalid(pa_arvalid), .arready(pa_arready),
        .araddr(pa_araddr), .arlen(pa_arlen), .rvalid(pa_rvalid), .rready(pa_rready),
        .rdata(rdata), .gb_waddr(pw_addr), .gb_wmask(pw_mask), .gb_wdata(pw_data),
        .visit_done(pa_done), .idle(pa_idle));
    integer j;
    always @(posedge clk)
        for (j = 0; j < BUSB/16; j = j + 1)
            if (pw_mask[j]) par_ram[pw_addr + j[PA-1:0]] <= pw_data[j*128 +: 128];

    dna_wr_runs #(.E(E), .P(P), .ACCW(ACCW), .BUSB(BUSB), .A(A), .BW(BW), .PA(PA)) u_wr (
        .clk(clk), .rst_n(rst_n), .run_valid(rv && evict_mode), .run_ready(wr_rr),
        .run_final(meta_f[ev[0]]), .run_faddr(rval[0 +: 32] + act_off), .run_paddr(rval[VW +: 32]),
        .run_gb(r_gb[A-1:0]), .run_pidx(r_pidx[PA-1:0]), .run_zl(zl), .run_nv(nv),
        .act_min(act_min), .act_max(act_max), .gb_re(gb_re), .gb_raddr(gb_raddr),
        .gb_rdata(gb_rdata),
        .par_addr(par_raddr), .par_data(par_rdata), .awvalid(awvalid), .awready(awready),
        .awaddr(awaddr), .awlen(awlen), .wvalid(wvalid), .wready(wready), .wdata(wdata),
        .wstrb(wstrb), .wlast(wlast), .idle(wr_idle));

    assign busy = st != S_IDLE;
    wire unused_misc = &{1'b0, pa_rr, pa_idle, rd_idle};
    always @(posedge clk) begin
        if (!rst_n) begin
            st <= S_IDLE;
            outstanding <= 32'd0;
            gb_prep <= {CW{1'b0}};
            ev <= {CW{1'b0}};
            outer_done <= 1'b0;
            evict_mode <= 1'b0;
        end else begin
            outstanding <= outstanding + {31'd0, awvalid && awready} - {31'd0, bvalid};
            case (st)
                S_IDLE: if (start) begin
                    st <= S_PAR;
                    gb_prep <= {CW{1'b0}};
                    ev <= {CW{1'b0}};
                    outer_done <= 1'b0;
                end
                S_PAR: if (pa_rr) st <= S_PARW;
                S_PARW: if (pa_done) st <= S_NEXT;
                S_NEXT: begin
                    if (prep_now) begin
                        meta_v[gb_prep[0]] <= prep_base;
                        meta_f[gb_prep[0]] <= final_v;
                    end
                    if (prep_first) begin
                        gb_prep <= gb_prep + 1'b1;
                        if (o_last) outer_done <= 1'b1;
                    end else if (prep_reload) begin
                        evict_mode <= 1'b0;
                        st <= S_PREPW;
                    end else if (!prep_now && ev != gb_prep) begin
                        st <= S_EVICT;
                    end else if (!prep_now && outer_done) begin
                        st <= S_FLUSH;
                    end
                end
                S_PREPW: if (rd_vdone) begin
                    gb_prep <= gb_prep + 1'b1;
                    if (o_last) outer_done <= 1'b1;
                    st <= S_NEXT;
                end
                S_EVICT: if (evict_go) begin
                    evict_mode <= 1'b1;
                    st <= S_EVICTW;
                end
                S_EVICTW: if (!walk_busy && wr_idle) begin
                    ev <= ev + 1'b1;
                    st <= S_NEXT;
                end
                S_FLUSH: if (outstanding == 32'd0) st <= S_IDLE;
                default: st <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
