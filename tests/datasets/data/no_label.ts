@problemName NoLabelToy
@timeStamps false
@univariate false
@equalLength true
@seriesLength 3
@classLabel false
@data
1,2,3:4,5,6
7,8,9:10,11,12
