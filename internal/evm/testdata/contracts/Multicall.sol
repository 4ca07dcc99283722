// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Multicall: many calls in one, for the local EVM's tests and benchmarks.
/// @notice aggregate makes each call in order and returns every answer; one
/// failing call reverts the whole with the failed call's revert data. The view
/// helpers expose block values (BLOCKHASH among them) to compare with a node.
contract Multicall {
    struct Call {
        address target;
        bytes callData;
    }

    function aggregate(Call[] calldata calls) external returns (uint256 blockNumber, bytes[] memory returnData) {
        blockNumber = block.number;
        returnData = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory ret) = calls[i].target.call(calls[i].callData);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
            returnData[i] = ret;
        }
    }

    function getBlockHash(uint256 number) external view returns (bytes32) {
        return blockhash(number);
    }

    function getEthBalance(address who) external view returns (uint256) {
        return who.balance;
    }
}
