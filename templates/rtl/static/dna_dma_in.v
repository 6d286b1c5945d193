// dna_dma_in: DMA for inputs or weights (DRAM -> global buffer). Walks the tensor's GB
// tile visits (group and dram loops down to its innermost live relevant one); visit v
// goes to GB slot v % 2 once the array fill unit released visit v - 2. `filled` counts
// visits whose every element is in the buffer.
`default_nettype none
module dna_dma_in #(
    parameter integer NP = 15,
    parameter integer NDW = 5,
    parameter integer BW = 16,
    parameter integer VW = 32,
    parameter integer CW = 32,
    parameter integer EB = 1,
    parameter integer W = 8,
    parameter integer BUSB = 64,
    parameter integer D = 64,
    parameter integer A = 7,
    parameter integer QA = 4
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 start,
    input  wire [NP-1:0]        act,
    input  wire [NP*BW-1:0]     nest_max,
    input  wire [6*VW-1:0]      init,
    input  wire [NP*6*VW-1:0]   inc,
    input  wire [NDW*BW-1:0]    wmax,
    input  wire [NDW*6*VW-1:0]  winc,
    input  wire [BW-1:0]        runlen,
    input  wire [4*VW-1:0]      lim,
    input  wire [CW-1:0]        gb_rel,   // visits the array fill unit released
    output reg  [CW-1:0]        filled,   // visits complete in the buffer
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
    output wire                 busy
);
    reg issuing, walk_on;
    reg [CW-1:0] v;  // visit being issued
    wire [6*VW-1:0] ov;
    wire o_last;
    wire [NP-1:0] unused_pn;
    wire [NP*BW-1:0] unused_idx;
    wire go = issuing && !walk_on && (gb_rel + 1'b1 >= v);
    wire rv, rr, rlast, vdone, rd_idle;
    wire [6*VW-1:0] rval;
    wire [BW-1:0] zl, nv;
    wire walk_busy;
    wire visit_end = rv && rr && rlast;
    wire [6*VW-1:0] unused_nv_outer;
    dna_agu #(.NP(NP), .NO(6), .BW(BW), .VW(VW)) u_outer (
        .clk(clk), .rst_n(rst_n), .start(start), .step(visit_end && !o_last), .act(act),
        .maxv(nest_max), .inc(inc), .init(init), .val(ov), .nval(unused_nv_outer),
        .idx(unused_idx), .last(o_last),
        .pnext(unused_pn));
    // base of the visit: the outer values with the slot's base word in the gb entry
    wire [VW-1:0] slot_base = v[0] ? D : 0;
    wire [6*VW-1:0] base = {ov[6*VW-1:2*VW], slot_base, ov[0 +: VW]};
    wire unused_ov_gb = &{1'b0, ov[VW +: VW]};
    dna_dma_walk #(.NDW(NDW), .NO(6), .BW(BW), .VW(VW)) u_walk (
        .clk(clk), .rst_n(rst_n), .start(go), .base(base), .wmax(wmax), .winc(winc),
        .rl(runlen), .lim(lim), .run_valid(rv), .run_ready(rr), .run_val(rval), .run_zl(zl),
        .run_nv(nv), .run_last(rlast), .busy(walk_busy));
    wire [VW-1:0] r_gb = rval[VW +: VW];
    wire unused_rval = &{1'b0, rval[6*VW-1:2*VW], r_gb[VW-1:A], walk_busy};
    dna_rd_runs #(.EB(EB), .W(W), .BUSB(BUSB), .A(A), .BW(BW), .QA(QA)) u_rd (
        .clk(clk), .rst_n(rst_n), .run_valid(rv), .run_ready(rr), .run_addr(rval[0 +: 32]),
        .run_gb(r_gb[A-1:0]), .run_zl(zl), .run_nv(nv), .run_rl(runlen), .run_last(rlast),
        .arvalid(arvalid), .arready(arready), .araddr(araddr), .arlen(arlen),
        .rvalid(rvalid), .rready(rready), .rdata(rdata), .gb_waddr(gb_waddr),
        .gb_wmask(gb_wmask), .gb_wdata(gb_wdata), .visit_done(vdone), .idle(rd_idle));
    assign busy = issuing || walk_on || !rd_idle || (filled != v);
    always @(posedge clk) begin
        if (!rst_n) begin
            issuing <= 1'b0;
            walk_on <= 1'b0;
            v <= {CW{1'b0}};
            filled <= {CW{1'b0}};
        end else if (start) begin
            issuing <= 1'b1;
            walk_on <= 1'b0;
            v <= {CW{1'b0}};
            filled <= {CW{1'b0}};
        end else begin
            if (go) walk_on <= 1'b1;
            if (visit_end) begin
                walk_on <= 1'b0;
                v <= v + 1'b1;
                if (o_last) issuing <= 1'b0;
            end
            if (vdone) filled <= filled + 1'b1;
        end
    end
endmodule
`default_nettype wire
