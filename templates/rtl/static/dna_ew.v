// dna_ew: elementwise unit for residual adds and standalone clamps over whole tensors
// (same shape, same 4 KiB phase, so bus beat i of every operand lines up). Per chunk of
// up to 16 beats it reads a (and b), then writes clamp(round_shift(a*ma + b*mb, shift))
// (add) or clamp(a) (clamp), E bytes per element, the last beat strobed to `tail` bytes.
`default_nettype none
module dna_ew #(
    parameter integer E = 1,
    parameter integer BUSB = 64
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 start,
    input  wire                 is_add,
    input  wire [31:0]          a_addr,
    input  wire [31:0]          b_addr,
    input  wire [31:0]          o_addr,
    input  wire [31:0]          beats,
    input  wire [7:0]           tail,   // bytes of the last beat
    input  wire [15:0]          ma,
    input  wire [15:0]          mb,
    input  wire [7:0]           shift,
    input  wire signed [31:0]   act_min,
    input  wire signed [31:0]   act_max,
    output wire                 a_arvalid,
    input  wire                 a_arready,
    output wire                 b_arvalid,
    input  wire                 b_arready,
    output wire [31:0]          a_araddr,
    output wire [31:0]          b_araddr,
    output wire [7:0]           arlen,
    input  wire                 a_rvalid,
    output wire                 a_rready,
    input  wire                 b_rvalid,
    output wire                 b_rready,
    input  wire [8*BUSB-1:0]    rdata,
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
    output wire                 busy
);
    localparam integer L = BUSB / E;
    localparam integer OB = $clog2(BUSB);
    localparam [2:0] S_IDLE = 3'd0, S_ARA = 3'd1, S_ARB = 3'd2, S_DATA = 3'd3, S_FLUSH = 3'd4;
    reg [2:0] st;
    reg [31:0] done_beats;   // beats written before this chunk
    reg [4:0] nb;            // beats in this chunk (<= 16)
    reg [4:0] wb;            // beats of this chunk written
    reg aw_done;
    reg [31:0] outstanding;
    wire [31:0] left = beats - done_beats;
    wire [31:0] off = done_beats << OB;
    assign a_araddr = a_addr + off;
    assign b_araddr = b_addr + off;
    assign awaddr = o_addr + off;
    assign arlen = {3'd0, nb - 5'd1};
    assign awlen = arlen;
    assign a_arvalid = st == S_ARA;
    assign b_arvalid = st == S_ARB;

    wire fa_empty, fa_full, fb_empty, fb_full;
    wire [8*BUSB-1:0] fa_d, fb_d;
    wire w_hs = wvalid && wready;
    assign a_rready = !fa_full;
    assign b_rready = !fb_full;
    dna_fifo #(.W(8*BUSB), .AW(4)) u_fa (
        .clk(clk), .rst_n(rst_n), .push(a_rvalid && !fa_full), .din(rdata), .pop(w_hs),
        .dout(fa_d), .empty(fa_empty), .full(fa_full));
    dna_fifo #(.W(8*BUSB), .AW(4)) u_fb (
        .clk(clk), .rst_n(rst_n), .push(b_rvalid && !fb_full), .din(rdata),
        .pop(w_hs && is_add), .dout(fb_d), .empty(fb_empty), .full(fb_full));

    reg [8*BUSB-1:0] res;
    reg signed [63:0] va, vb, v, rnd;
    reg signed [31:0] q;
    wire signed [63:0] lo64 = {{32{act_min[31]}}, act_min};
    wire signed [63:0] hi64 = {{32{act_max[31]}}, act_max};
    integer i;
    always @* begin
        res = {8*BUSB{1'b0}};
        rnd = (shift == 8'd0) ? 64'sd0 : (64'sd1 <<< (shift - 8'd1));
        for (i = 0; i < L; i = i + 1) begin
            va = {{(64-8*E){fa_d[i*8*E + 8*E-1]}}, fa_d[i*8*E +: 8*E]};
            vb = {{(64-8*E){fb_d[i*8*E + 8*E-1]}}, fb_d[i*8*E +: 8*E]};
            v = is_add ? (va * $signed({48'd0, ma}) + vb * $signed({48'd0, mb}) + rnd) >>> shift
                       : va;
            q = (v < lo64) ? act_min : ((v > hi64) ? act_max : v[31:0]);
            res[i*8*E +: 8*E] = q[8*E-1:0];
        end
    end
    wire last_beat = wb == nb - 5'd1;
    wire w_all = (wb == nb) || (w_hs && last_beat);
    wire aw_all = aw_done || (awvalid && awready);
    wire final_chunk = done_beats + {27'd0, nb} == beats;
    wire final_beat = last_beat && final_chunk;  // strobed to `tail` bytes
    genvar j;
    generate
        for (j = 0; j < BUSB; j = j + 1) begin : g_strb
            assign wstrb[j] = !final_beat || (j < tail);
        end
    endgenerate
    assign wdata = res;
    assign wlast = last_beat;
    wire have = !fa_empty && (!is_add || !fb_empty);  // the next beat's operands are here
    assign wvalid = st == S_DATA && have && wb != nb;
    // The write address waits for the first beat's data: engines share the AXI write
    // channel, which one burst holds from its address to its last beat (dna_axi_mux.v).
    reg aw_held;  // an address once offered stays offered until taken (AXI)
    assign awvalid = st == S_DATA && !aw_done && (have || aw_held);
    assign busy = st != S_IDLE;
    always @(posedge clk) begin
        if (!rst_n) begin
            st <= S_IDLE;
            outstanding <= 32'd0;
            aw_held <= 1'b0;
        end else begin
            outstanding <= outstanding + {31'd0, awvalid && awready} - {31'd0, bvalid};
            case (st)
                S_IDLE: if (start) begin
                    done_beats <= 32'd0;
                    st <= S_ARA;
                    nb <= (beats > 32'd16) ? 5'd16 : beats[4:0];
                end
                S_ARA: if (a_arready) st <= is_add ? S_ARB : S_DATA;
                S_ARB: if (b_arready) st <= S_DATA;
                S_DATA: begin
                    if (awvalid && awready) aw_done <= 1'b1;
                    if (w_hs) wb <= wb + 5'd1;
                    if (w_all && aw_all) begin
                        done_beats <= done_beats + {27'd0, nb};
                        if (final_chunk) st <= S_FLUSH;
                        else begin
                            st <= S_ARA;
                            nb <= (left - {27'd0, nb} > 32'd16) ? 5'd16 : left[4:0] - nb;
                        end
                    end
                end
                S_FLUSH: if (outstanding == 32'd0) st <= S_IDLE;
                default: st <= S_IDLE;
            endcase
            aw_held <= awvalid && !awready;
            if (st == S_ARA || st == S_IDLE) begin
                aw_done <= 1'b0;
                wb <= 5'd0;
            end
        end
    end
    wire unused_ew = &{1'b0, off[OB-1:0], q[31:8*E], v[63:32]};
endmodule
`default_nettype wire
