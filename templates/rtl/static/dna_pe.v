// dna_pe: one processing element: a double-buffered register file for its input tile and
// one for its weight tile (slot 0 / 1: one is computed on while the other fills), and
// the multiplier. The product goes to its output lane's reduction tree and accumulator.
`default_nettype none
module dna_pe #(
    parameter integer BITS = 8,
    parameter integer AI = 4,    // input RF address bits (2^AI words per slot)
    parameter integer AW = 4     // weight RF address bits
) (
    input  wire                   clk,
    input  wire                   fi_we,    // input RF fill
    input  wire                   fi_slot,
    input  wire [AI-1:0]          fi_addr,
    input  wire [BITS-1:0]        fi_data,
    input  wire                   fw_we,    // weight RF fill
    input  wire                   fw_slot,
    input  wire [AW-1:0]          fw_addr,
    input  wire [BITS-1:0]        fw_data,
    input  wire                   ci_slot,  // compute read
    input  wire [AI-1:0]          ci_addr,
    input  wire                   cw_slot,
    input  wire [AW-1:0]          cw_addr,
    output wire signed [2*BITS-1:0] prod
);
    reg [BITS-1:0] rfi [0:(2<<AI)-1];  // {slot, address}
    reg [BITS-1:0] rfw [0:(2<<AW)-1];
    wire [AI:0] fia = {fi_slot, fi_addr};
    wire [AW:0] fwa = {fw_slot, fw_addr};
    wire [AI:0] cia = {ci_slot, ci_addr};
    wire [AW:0] cwa = {cw_slot, cw_addr};
    always @(posedge clk) begin
        if (fi_we) rfi[fia] <= fi_data;
        if (fw_we) rfw[fwa] <= fw_data;
    end
    assign prod = $signed(rfw[cwa]) * $signed(rfi[cia]);
endmodule
`default_nettype wire
