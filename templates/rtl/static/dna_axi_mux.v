// dna_axi_mux: the engines' AXI4 masters onto the accelerator's one AXI4 master.
// Reads: round robin among the engines' read addresses (a grant is held while its AR waits
// for ARREADY), the engine's index prepended to its ID; read data routed back by ID.
// Writes: one engine owns the AW and W channels from its first AW or W handshake until both
// its AW and its WLAST have gone (a burst's beats stay together); AWID is the engine's
// index, and write responses are routed back by BID. Engines always accept R and B beats
// meant for them when they are ready (RREADY) or at once (B).
`default_nettype none
module dna_axi_mux #(
    parameter integer H = 2,     // engines
    parameter integer HB = 1,    // bits of an engine index
    parameter integer SUB = 3,   // bits of an engine's own read IDs
    parameter integer BUSB = 64
) (
    input  wire                  clk,
    input  wire                  rst_n,
    input  wire [H-1:0]          e_arvalid,
    output wire [H-1:0]          e_arready,
    input  wire [H*32-1:0]       e_araddr,
    input  wire [H*8-1:0]        e_arlen,
    input  wire [H*SUB-1:0]      e_arid,
    output wire [H-1:0]          e_rvalid,
    input  wire [H-1:0]          e_rready,
    input  wire [H-1:0]          e_awvalid,
    output wire [H-1:0]          e_awready,
    input  wire [H*32-1:0]       e_awaddr,
    input  wire [H*8-1:0]        e_awlen,
    input  wire [H-1:0]          e_wvalid,
    output wire [H-1:0]          e_wready,
    input  wire [H*8*BUSB-1:0]   e_wdata,
    input  wire [H*BUSB-1:0]     e_wstrb,
    input  wire [H-1:0]          e_wlast,
    output wire [H-1:0]          e_bvalid,
    output wire                  arvalid,
    input  wire                  arready,
    output wire [31:0]           araddr,
    output wire [7:0]            arlen,
    output wire [HB+SUB-1:0]     arid,
    input  wire                  rvalid,
    output wire                  rready,
    input  wire [HB+SUB-1:0]     rid,
    output wire                  awvalid,
    input  wire                  awready,
    output wire [31:0]           awaddr,
    output wire [7:0]            awlen,
    output wire [HB+SUB-1:0]     awid,
    output wire                  wvalid,
    input  wire                  wready,
    output wire [8*BUSB-1:0]     wdata,
    output wire [BUSB-1:0]       wstrb,
    output wire                  wlast,
    input  wire                  bvalid,
    input  wire [HB+SUB-1:0]     bid
);
    integer i;
    reg [HB:0] c, cw;  // client index rp (wp) + i, wrapped below H: one per always block

    // ---------------------------------------------------------------- reads
    reg [HB-1:0] rp, rg, rheld;
    reg rgv, rhold;
    always @* begin
        rgv = 1'b0;
        rg = {HB{1'b0}};
        for (i = H - 1; i >= 0; i = i - 1) begin
            c = {1'b0, rp} + i[HB:0];
            if (c >= H[HB:0]) c = c - H[HB:0];
            if (e_arvalid[c[HB-1:0]]) begin
                rgv = 1'b1;
                rg = c[HB-1:0];
            end
        end
        if (rhold) begin
            rgv = 1'b1;
            rg = rheld;
        end
    end
    assign arvalid = rgv;
    assign araddr = e_araddr[rg*32 +: 32];
    assign arlen = e_arlen[rg*8 +: 8];
    assign arid = {rg, e_arid[rg*SUB +: SUB]};
    wire [HB-1:0] rto = rid[HB+SUB-1:SUB];
    reg rr;  // RREADY of the engine RID names (0 while RID is undriven: no beat then)
    always @* begin
        rr = 1'b0;
        for (i = 0; i < H; i = i + 1)
            if (rto == i[HB-1:0]) rr = e_rready[i];
    end
    assign rready = rr;

    // ---------------------------------------------------------------- writes
    reg [HB-1:0] wp, wg, wheld, wsel;
    reg wgv, whold, wlock, awd, wdn;
    always @* begin
        wgv = 1'b0;
        wg = {HB{1'b0}};
        for (i = H - 1; i >= 0; i = i - 1) begin
            cw = {1'b0, wp} + i[HB:0];
            if (cw >= H[HB:0]) cw = cw - H[HB:0];
            if (e_awvalid[cw[HB-1:0]]) begin
                wgv = 1'b1;
                wg = cw[HB-1:0];
            end
        end
        if (whold) begin
            wgv = 1'b1;
            wg = wheld;
        end
    end
    wire [HB-1:0] wcur = wlock ? wsel : wg;
    wire wcv = wlock || wgv;
    assign awvalid = wcv && !awd && e_awvalid[wcur];
    assign awaddr = e_awaddr[wcur*32 +: 32];
    assign awlen = e_awlen[wcur*8 +: 8];
    assign awid = {wcur, {SUB{1'b0}}};
    assign wvalid = wcv && !wdn && e_wvalid[wcur];
    assign wdata = e_wdata[wcur*8*BUSB +: 8*BUSB];
    assign wstrb = e_wstrb[wcur*BUSB +: BUSB];
    assign wlast = e_wlast[wcur];
    wire aw_hs = awvalid && awready;
    wire w_hs = wvalid && wready;
    wire aw_all = awd || aw_hs;
    wire w_all = wdn || (w_hs && wlast);
    always @(posedge clk) begin
        if (!rst_n) begin
            rp <= {HB{1'b0}};
            rhold <= 1'b0;
            wp <= {HB{1'b0}};
            whold <= 1'b0;
            wlock <= 1'b0;
            awd <= 1'b0;
            wdn <= 1'b0;
        end else begin
            rhold <= arvalid && !arready;
            rheld <= rg;
            if (arvalid && arready) rp <= (rg == H[HB-1:0] - 1'b1) ? {HB{1'b0}} : rg + 1'b1;
            whold <= !wlock && wgv && !aw_hs && !w_hs;
            wheld <= wg;
            if (wcv && aw_all && w_all) begin  // the burst is through: release
                wlock <= 1'b0;
                awd <= 1'b0;
                wdn <= 1'b0;
                wp <= (wcur == H[HB-1:0] - 1'b1) ? {HB{1'b0}} : wcur + 1'b1;
            end else if (aw_hs || w_hs) begin
                wlock <= 1'b1;
                wsel <= wcur;
                if (aw_hs) awd <= 1'b1;
                if (w_hs && wlast) wdn <= 1'b1;
            end
        end
    end
    genvar k;
    generate
        for (k = 0; k < H; k = k + 1) begin : g_e
            assign e_arready[k] = arready && rgv && rg == k[HB-1:0];
            assign e_rvalid[k] = rvalid && rto == k[HB-1:0];
            assign e_awready[k] = awready && wcv && !awd && wcur == k[HB-1:0];
            assign e_wready[k] = wready && wcv && !wdn && wcur == k[HB-1:0];
            assign e_bvalid[k] = bvalid && bid[HB+SUB-1:SUB] == k[HB-1:0];
        end
    endgenerate
    // B carries no engine-private bits (AWID's low bits are 0); the engines read RID's.
    wire unused_mux = &{1'b0, bid[SUB-1:0], rid[SUB-1:0]};
endmodule
`default_nettype wire
