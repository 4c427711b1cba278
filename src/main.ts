import { BOARD_ID, BOARD_NAME } from "board";
import { setStatusLed, readSensors } from "./app/hardware";

setStatusLed(true);
console.log("node: " + BOARD_NAME + " (" + BOARD_ID + ") up, readings " + JSON.stringify(readSensors()));
setStatusLed(false);
