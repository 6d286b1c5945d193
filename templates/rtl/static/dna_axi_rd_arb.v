// dna_axi_rd_arb: AXI read-address arbitration among N clients (round robin, one AR per
// cycle) and read-data routing by RID (client i uses ID i; beats of one ID return in
// order, which is all a client relies on).
`default_nettype none
module dna_axi_rd_arb #(
    parameter integer N = 6,
    parameter integer IDW = 3
) (
    input  wire            clk,
    input  wire            rst_n,
    input  wire [N-1:0]    c_arvalid,
    output wire [N-1:0]    c_arready,
    input  wire [N*32-1:0] c_araddr,
    input  wire [N*8-1:0]  c_arlen,
    output wire [N-1:0]    c_rvalid,
    input  wire [N-1:0]    c_rready,
    output reg             arvalid,
    input  wire            arready,
    output reg  [31:0]     araddr,
    output reg  [7:0]      arlen,
    output reg  [IDW-1:0]  arid,
    input  wire            rvalid,
    output wire            rready,
    input  wire [IDW-1:0]  rid
);
    reg [IDW-1:0] ptr;     // client with the highest priority this cycle
    reg [N-1:0] grant;
    reg [N-1:0] held;      // grant kept while an AR waits for ARREADY (AXI: stable)
    reg hold;
    reg [IDW:0] c;  // client index ptr + i, wrapped below N
    integer i;
    always @* begin
        grant = {N{1'b0}};
        for (i = N - 1; i >= 0; i = i - 1) begin
            c = {1'b0, ptr} + i[IDW:0];
            if (c >= N[IDW:0]) c = c - N[IDW:0];
            if (c_arvalid[c[IDW-1:0]]) begin
                grant = {N{1'b0}};
                grant[c[IDW-1:0]] = 1'b1;
            end
        end
        if (hold) grant = held;
        arvalid = |grant;
        araddr = 32'd0;
        arlen = 8'd0;
        arid = {IDW{1'b0}};
        for (i = 0; i < N; i = i + 1)
            if (grant[i]) begin
                araddr = c_araddr[i*32 +: 32];
                arlen = c_arlen[i*8 +: 8];
                arid = i[IDW-1:0];
            end
    end
    assign c_arready = grant & {N{arready}};
    genvar k;
    generate
        for (k = 0; k < N; k = k + 1) begin : g_r
            assign c_rvalid[k] = rvalid && (rid == k[IDW-1:0]);
        end
    endgenerate
    reg rr;
    always @* begin
        rr = 1'b0;
        for (i = 0; i < N; i = i + 1)
            if (rid == i[IDW-1:0]) rr = c_rready[i];
    end
    assign rready = rr;
    always @(posedge clk) begin
        if (!rst_n) begin
            ptr <= {IDW{1'b0}};
            hold <= 1'b0;
            held <= {N{1'b0}};
        end else begin
            hold <= arvalid && !arready;
            held <= grant;
            if (arvalid && arready) ptr <= ({{(32-IDW){1'b0}}, arid} == N - 1) ? {IDW{1'b0}} : arid + 1'b1;
        end
    end
endmodule
`default_nettype wire
