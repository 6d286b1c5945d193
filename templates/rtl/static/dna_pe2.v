// dna_pe2: two 8-bit processing elements that share their weight (PEs that differ only
// in dims irrelevant to weights get the same weight lane), built around one multiplier
// as a DSP48E1 (25 x 18) computes it on an FPGA: w * (a1 * 2^16 + a0). The low 16 bits
// hold w * a0 (-2^14 + 128 <= w * a0 <= 2^14: a signed 16-bit value); w * a1 is the
// rest, plus one where w * a0 is negative (the floor of the shift borrowed it). Each PE keeps its own input register
// file; the weight register file is one.
`default_nettype none
module dna_pe2 #(
    parameter integer AI = 4,    // input RF address bits (2^AI words per slot)
    parameter integer AW = 4     // weight RF address bits
) (
    input  wire               clk,
    input  wire               fi_we,
    input  wire               fi_slot,
    input  wire [AI-1:0]      fi_addr,
    input  wire [7:0]         fi_data0,
    input  wire [7:0]         fi_data1,
    input  wire               fw_we,
    input  wire               fw_slot,
    input  wire [AW-1:0]      fw_addr,
    input  wire [7:0]         fw_data,
    input  wire               ci_slot,
    input  wire [AI-1:0]      ci_addr,
    input  wire               cw_slot,
    input  wire [AW-1:0]      cw_addr,
    output wire signed [15:0] prod0,
    output wire signed [15:0] prod1
);
    reg [7:0] rfi0 [0:(2<<AI)-1];  // {slot, address}
    reg [7:0] rfi1 [0:(2<<AI)-1];
    reg [7:0] rfw [0:(2<<AW)-1];
    wire [AI:0] fia = {fi_slot, fi_addr};
    wire [AW:0] fwa = {fw_slot, fw_addr};
    wire [AI:0] cia = {ci_slot, ci_addr};
    wire [AW:0] cwa = {cw_slot, cw_addr};
    always @(posedge clk) begin
        if (fi_we) begin
            rfi0[fia] <= fi_data0;
            rfi1[fia] <= fi_data1;
        end
        if (fw_we) rfw[fwa] <= fw_data;
    end
    wire [7:0] a0 = rfi0[cia], a1 = rfi1[cia], w = rfw[cwa];
    wire signed [24:0] a = $signed({a1[7], a1, 16'd0}) + $signed({{17{a0[7]}}, a0});
    wire signed [32:0] p = $signed({{25{w[7]}}, w}) * a;
    assign prod0 = p[15:0];
    assign prod1 = p[31:16] + {15'd0, p[15]};
    wire unused_p = p[32];
endmodule
`default_nettype wire
