// dna_plane: the plane unit: max and average pooling (stride, padding), global average
// pooling and channel shuffle. Activations are NCHW, so a channel is one contiguous plane
// of H*W elements. Output plane j is computed from input plane src(j): with
// cpg = channels / groups and j = a*groups + b, src(j) = b*cpg + a (channel shuffle;
// src(j) = j when groups = 1).
//   loader: reads the bus beats that hold plane src(j) into slot j%2 of the plane buffer
//           (two slots: plane j+1 loads while plane j is computed); the plane may start
//           anywhere in a beat (`lead` bytes in).
//   window: per output position in raster order, one window tap per cycle from the slot
//           (synchronous read, one read port): the max (taps in the padding are skipped:
//           padding is qmin and never wins) or the sum (padding adds 0), then
//           clamp(round_shift(sum * mult, shift)) for an average.
//   writer: packs the outputs into bus beats, written contiguously from o_addr (4 KiB
//           aligned), one single-beat burst per beat, the last beat strobed.
// Shuffle is a 1x1 max window with stride 1: a copy of each plane to its new place.
`default_nettype none
module dna_plane #(
    parameter integer E = 1,      // bytes per element
    parameter integer BUSB = 64,  // bytes per bus beat
    parameter integer PA = 4      // log2 beats per buffer slot
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 start,
    input  wire                 is_avg,
    input  wire [31:0]          i_addr,
    input  wire [31:0]          o_addr,
    input  wire [15:0]          ch,          // planes (channels), >= 1
    input  wire [15:0]          groups,      // shuffle groups (1: none)
    input  wire [31:0]          plane_bytes, // H * W * E
    input  wire [31:0]          gstep,       // (ch / groups) * plane_bytes
    input  wire [15:0]          h,           // input rows
    input  wire [15:0]          w,           // input cols
    input  wire [15:0]          oh,          // output rows
    input  wire [15:0]          ow,          // output cols
    input  wire [15:0]          wr,          // window rows
    input  wire [15:0]          ws,          // window cols
    input  wire [15:0]          stride,
    input  wire [15:0]          pad,
    input  wire [31:0]          row_bytes,   // W * E
    input  wire [15:0]          step_x,      // stride * E
    input  wire [31:0]          step_y,      // stride * W * E
    input  wire signed [31:0]   org,         // -(pad * W + pad) * E: first window's offset
    input  wire [15:0]          mult,
    input  wire [7:0]           shift,
    output wire                 arvalid,
    input  wire                 arready,
    output wire [31:0]          araddr,
    output wire [7:0]           arlen,
    input  wire                 rvalid,
    output wire                 rready,
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
    localparam integer OB = $clog2(BUSB);
    localparam integer SW = 8 * E;  // element bits
    reg run;

    // ---------------------------------------------------------------- plane buffer
    reg [8*BUSB-1:0] pbuf [0:(1<<(PA+1))-1];
    reg [8*BUSB-1:0] buf_rdata;
    reg [OB-1:0] lead [0:1];  // byte offset of each slot's plane in its first beat

    // ---------------------------------------------------------------- loader
    reg [15:0] lp;           // planes loaded (the plane being loaded)
    reg [15:0] la, lb;       // lp = la * groups + lb
    reg [31:0] labase;       // i_addr + la * plane_bytes
    reg [31:0] lsrc;         // byte address of plane src(lp) = labase + lb * gstep
    reg ldg;                 // a plane is loading
    reg [31:0] lnb, liss, lrcv;  // beats of the plane, requested, received
    reg [31:0] laddr;        // next beat address to request
    reg [15:0] cq;           // planes computed (slots released)
    wire [31:0] lstart = lsrc & ~(BUSB - 1);
    wire [31:0] lrem = lnb - liss;
    wire [4:0] lblk = 5'd16 - {1'b0, laddr[OB+3:OB]};  // beats to the next 16-beat block
    wire [31:0] llen = (lrem < {27'd0, lblk}) ? lrem : {27'd0, lblk};
    assign arvalid = ldg && liss != lnb;
    assign araddr = laddr;
    assign arlen = llen[7:0] - 8'd1;
    assign rready = 1'b1;
    wire lnext = run && !ldg && lp != ch && lp < cq + 16'd2;

    // ---------------------------------------------------------------- window unit
    reg cpa;                              // a plane is being computed
    reg [15:0] oy, ox, r, s;
    reg signed [16:0] iy, ix, iy0, ix0;   // tap and window origin (may lie in the padding)
    reg signed [31:0] toff, roff, ooff, orow;  // byte offsets in the slot
    wire room;
    wire s_end = s == ws - 16'd1, r_end = r == wr - 16'd1;
    wire x_end = ox == ow - 16'd1, y_end = oy == oh - 16'd1;
    wire tap = cpa && room;
    wire in_map = !iy[16] && !ix[16] && iy < $signed({1'b0, h}) && ix < $signed({1'b0, w});
    wire signed [16:0] spad = -$signed({1'b0, pad});
    wire signed [16:0] sstr = $signed({1'b0, stride});
    wire signed [31:0] sx = $signed({16'd0, step_x});
    wire cnext = run && !cpa && cq != ch && cq < lp;
    wire signed [31:0] org0 = org + $signed({{(32-OB){1'b0}}, lead[cq[0]]});
    // pipeline: tap (address) -> b (data) -> c (result)
    reg b_v, b_in, b_first, b_last, b_final;
    reg [OB-1:0] b_lane;
    reg c_v, c_final;
    reg signed [47:0] acc;
    wire [SW-1:0] xe = buf_rdata[b_lane*8 +: SW];
    wire signed [47:0] xs = {{(48-SW){xe[SW-1]}}, xe};
    wire signed [47:0] init = is_avg ? 48'sd0 : -(48'sd1 <<< (SW - 1));
    wire signed [47:0] nxt = is_avg ? acc + xs : (xs > acc ? xs : acc);

    // requantise (average) or pass (max)
    wire signed [63:0] prod = {{16{acc[47]}}, acc} * $signed({48'd0, mult});
    wire signed [63:0] rnd = (shift == 8'd0) ? 64'sd0 : (64'sd1 <<< (shift - 8'd1));
    wire signed [63:0] v = (prod + rnd) >>> shift;
    wire signed [63:0] qlo = -(64'sd1 <<< (SW - 1)), qhi = (64'sd1 <<< (SW - 1)) - 64'sd1;
    wire signed [63:0] vq = !is_avg ? {{16{acc[47]}}, acc} : (v < qlo ? qlo : (v > qhi ? qhi : v));

    // ---------------------------------------------------------------- writer
    reg [8*BUSB-1:0] pk;
    reg [BUSB-1:0] pks;
    reg [OB-1:0] pp;
    localparam [OB:0] EB = E[OB:0];
    wire [OB:0] pp_end = {1'b0, pp} + EB;
    reg [8*BUSB-1:0] pk_n;
    reg [BUSB-1:0] pks_n;
    always @* begin
        pk_n = pk;
        pks_n = pks;
        pk_n[pp*8 +: SW] = vq[SW-1:0];
        pks_n[pp +: E] = {E{1'b1}};
    end
    wire push = c_v && (pp_end[OB] || c_final);
    wire f_empty, f_full;
    wire [8*BUSB+BUSB-1:0] f_d;
    reg [2:0] f_cnt;
    reg aw_done, w_done;
    wire aw_hs = awvalid && awready, w_hs = wvalid && wready;
    wire pop = !f_empty && (aw_done || aw_hs) && (w_done || w_hs);
    dna_fifo #(.W(8*BUSB+BUSB), .AW(2)) u_wq (
        .clk(clk), .rst_n(rst_n), .push(push), .din({pks_n, pk_n}), .pop(pop), .dout(f_d),
        .empty(f_empty), .full(f_full));
    // a tap issued now may complete a beat two cycles later: keep a place for it
    assign room = f_cnt < 3'd3;
    reg [31:0] waddr;
    reg [31:0] outstanding;
    assign awvalid = !f_empty && !aw_done;
    assign awaddr = waddr;
    assign awlen = 8'd0;
    assign wvalid = !f_empty && !w_done;
    assign wdata = f_d[8*BUSB-1:0];
    assign wstrb = f_d[8*BUSB +: BUSB];
    assign wlast = 1'b1;
    wire idle = lp == ch && cq == ch && !b_v && !c_v && f_empty && outstanding == 32'd0;
    assign busy = run;

    always @(posedge clk) begin
        if (rvalid) pbuf[{lp[0], lrcv[PA-1:0]}] <= rdata;
        if (tap) buf_rdata <= pbuf[{cq[0], toff[OB+PA-1:OB]}];
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            run <= 1'b0;
            ldg <= 1'b0;
            cpa <= 1'b0;
            b_v <= 1'b0;
            c_v <= 1'b0;
            f_cnt <= 3'd0;
            outstanding <= 32'd0;
            aw_done <= 1'b0;
            w_done <= 1'b0;
        end else begin
            f_cnt <= f_cnt + {2'd0, push} - {2'd0, pop};
            outstanding <= outstanding + {31'd0, aw_hs} - {31'd0, bvalid};
            if (pop) begin
                aw_done <= 1'b0;
                w_done <= 1'b0;
                waddr <= waddr + BUSB;
            end else begin
                if (aw_hs) aw_done <= 1'b1;
                if (w_hs) w_done <= 1'b1;
            end
            if (start) begin
                run <= 1'b1;
                lp <= 16'd0;
                la <= 16'd0;
                lb <= 16'd0;
                labase <= i_addr;
                lsrc <= i_addr;
                cq <= 16'd0;
                waddr <= o_addr;
                pp <= {OB{1'b0}};
                pk <= {8*BUSB{1'b0}};
                pks <= {BUSB{1'b0}};
            end else if (run && idle) run <= 1'b0;

            // loader
            if (lnext) begin
                ldg <= 1'b1;
                lnb <= ({{(32-OB){1'b0}}, lsrc[OB-1:0]} + plane_bytes + BUSB - 1) >> OB;
                liss <= 32'd0;
                lrcv <= 32'd0;
                laddr <= lstart;
                lead[lp[0]] <= lsrc[OB-1:0];
            end
            if (arvalid && arready) begin
                liss <= liss + llen;
                laddr <= laddr + (llen << OB);
            end
            if (ldg && rvalid) begin
                lrcv <= lrcv + 32'd1;
                if (lrcv + 32'd1 == lnb) begin
                    ldg <= 1'b0;
                    lp <= lp + 16'd1;
                    if (lb == groups - 16'd1) begin
                        lb <= 16'd0;
                        la <= la + 16'd1;
                        labase <= labase + plane_bytes;
                        lsrc <= labase + plane_bytes;
                    end else begin
                        lb <= lb + 16'd1;
                        lsrc <= lsrc + gstep;
                    end
                end
            end

            // window unit: issue one tap
            if (cnext) begin
                cpa <= 1'b1;
                oy <= 16'd0;
                ox <= 16'd0;
                r <= 16'd0;
                s <= 16'd0;
                iy0 <= spad;
                ix0 <= spad;
                iy <= spad;
                ix <= spad;
                toff <= org0;
                roff <= org0;
                ooff <= org0;
                orow <= org0;
            end
            b_v <= tap;
            if (tap) begin
                b_lane <= toff[OB-1:0];
                b_in <= in_map;
                b_first <= r == 16'd0 && s == 16'd0;
                b_last <= s_end && r_end;
                b_final <= s_end && r_end && x_end && y_end && cq == ch - 16'd1;
                if (!s_end) begin
                    s <= s + 16'd1;
                    ix <= ix + 17'sd1;
                    toff <= toff + $signed(E);
                end else if (!r_end) begin
                    s <= 16'd0;
                    r <= r + 16'd1;
                    iy <= iy + 17'sd1;
                    ix <= ix0;
                    roff <= roff + $signed(row_bytes);
                    toff <= roff + $signed(row_bytes);
                end else begin
                    s <= 16'd0;
                    r <= 16'd0;
                    if (!x_end) begin
                        ox <= ox + 16'd1;
                        ix0 <= ix0 + sstr;
                        ix <= ix0 + sstr;
                        iy <= iy0;
                        ooff <= ooff + sx;
                        roff <= ooff + sx;
                        toff <= ooff + sx;
                    end else if (!y_end) begin
                        ox <= 16'd0;
                        oy <= oy + 16'd1;
                        iy0 <= iy0 + sstr;
                        iy <= iy0 + sstr;
                        ix0 <= spad;
                        ix <= spad;
                        orow <= orow + $signed(step_y);
                        ooff <= orow + $signed(step_y);
                        roff <= orow + $signed(step_y);
                        toff <= orow + $signed(step_y);
                    end else begin
                        cpa <= 1'b0;
                        cq <= cq + 16'd1;
                    end
                end
            end

            // data: accumulate the tap read last cycle
            c_v <= b_v && b_last;
            c_final <= b_final;
            if (b_v) begin
                if (b_first) acc <= b_in ? xs : init;
                else if (b_in) acc <= nxt;
            end
            // result: pack into the beat
            if (c_v) begin
                if (push) begin
                    pk <= {8*BUSB{1'b0}};
                    pks <= {BUSB{1'b0}};
                    pp <= {OB{1'b0}};
                end else begin
                    pk <= pk_n;
                    pks <= pks_n;
                    pp <= pp_end[OB-1:0];
                end
            end
        end
    end
    // the FIFO never fills (`room`); results and offsets use their low bits only
    wire unused_plane = &{1'b0, f_full, v[63:SW], vq[63:SW], toff[31:OB+PA], lstart[OB-1:0]};
endmodule
`default_nettype wire
