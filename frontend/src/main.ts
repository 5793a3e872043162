// The LiveOne bundle: the sidebar panel <liveone-panel> and the dashboard card
// custom:liveone-history-card (with its editor). The integration serves this one file and loads it
// both as the panel's module and on every frontend page (so the card needs no resource).
import "./panel";
import "./card";
